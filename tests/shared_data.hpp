// SPDX-License-Identifier: MIT
#pragma once
// Where the real pretrained models, labels and photos are (never committed): the directory in
// MOBILENET_DATA_DIR, else <source>/../shared/data. Tests that need them skip when absent.
#include <cstdlib>
#include <fstream>
#include <string>

namespace mobilenet {
namespace testing {

inline std::string shared_data_dir() {
  const char* env = std::getenv("MOBILENET_DATA_DIR");
  return env && *env ? env : MOBILENET_SOURCE_DIR "/../shared/data";
}

// The path of `relative` inside the data directory, or "" when the file is not there.
inline std::string shared_data_file(const std::string& relative) {
  const std::string path = shared_data_dir() + "/" + relative;
  return std::ifstream(path) ? path : std::string();
}

}  // namespace testing
}  // namespace mobilenet
