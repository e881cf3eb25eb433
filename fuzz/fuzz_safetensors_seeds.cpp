// SPDX-License-Identifier: MIT
// Writes the seed corpus of fuzz_safetensors into DIR: small valid MobileNetV1 weights files
// (alpha 1/32 with a channel floor of 1, so a whole model is a few thousand values) in each
// layout the loader takes (BatchNorm or folded, Dense or 1x1 head or none, labels) and every
// float dtype it converts (F32, F64, F16, BF16), so that mutations reach every check.
// Usage: fuzz_safetensors_seeds DIR

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/io/weights.hpp"
#include "mobilenet/model/fold.hpp"

namespace {

using mobilenet::MobileNetV1;
using mobilenet::MobileNetV1Config;
namespace io = mobilenet::io;

MobileNetV1Config tiny() {
  MobileNetV1Config c;
  c.alpha = 1.0 / 32;
  c.min_depth = 1;
  c.resolution = 32;
  c.num_classes = 3;
  return c;
}

std::uint16_t to_f16(float value) {  // truncating; the seeds' values are normal or zero
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 23) & 0xFFu) - 127 + 15;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return static_cast<std::uint16_t>(sign | 0x7C00u);
  return static_cast<std::uint16_t>(sign | (exponent << 10) | ((bits >> 13) & 0x3FFu));
}

std::uint16_t to_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return static_cast<std::uint16_t>(bits >> 16);
}

// The file `source` (written by save_weights) again, each tensor in the dtype `dtype_of`
// names, with `extra` metadata added.
std::vector<std::uint8_t> rewrite(const std::vector<std::uint8_t>& source,
                                  const std::function<std::string(const std::string&)>& dtype_of,
                                  const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  const io::SafetensorsFile file = io::SafetensorsFile::parse(source, "seed");
  std::string header = "{\"__metadata__\":{";
  bool first = true;
  auto metadata = file.metadata();
  for (const auto& item : extra) metadata[item.first] = item.second;
  for (const auto& item : metadata) {
    header += (first ? "" : ",") + io::detail::json_quote(item.first) + ":" + io::detail::json_quote(item.second);
    first = false;
  }
  header += "}";
  std::vector<std::uint8_t> data;
  for (const std::string& name : file.names()) {
    const std::string dtype = dtype_of(name);
    const std::vector<double> values = file.to_vector<double>(name);
    const std::size_t begin = data.size();
    for (double v : values) {
      std::uint8_t bytes[8];
      std::size_t n = 0;
      if (dtype == "F64") {
        io::detail::store_le(bytes, v), n = 8;
      } else if (dtype == "F16") {
        io::detail::store_le(bytes, to_f16(static_cast<float>(v))), n = 2;
      } else if (dtype == "BF16") {
        io::detail::store_le(bytes, to_bf16(static_cast<float>(v))), n = 2;
      } else {
        io::detail::store_le(bytes, static_cast<float>(v)), n = 4;
      }
      data.insert(data.end(), bytes, bytes + n);
    }
    header += ",\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":[";
    const auto& shape = file.info(name).shape;
    for (std::size_t i = 0; i < shape.size(); ++i) header += (i ? "," : "") + std::to_string(shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  header += "}";
  std::vector<std::uint8_t> out(8 + header.size() + data.size());
  io::detail::store_le(out.data(), static_cast<std::uint64_t>(header.size()));
  std::memcpy(out.data() + 8, header.data(), header.size());
  std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

template <typename T>
std::vector<std::uint8_t> saved(const MobileNetV1<T>& model, const std::string& dir) {
  const std::string path = dir + "/.tmp.safetensors";
  io::save_weights(model, path);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  MobileNetV1<float> bn(tiny());
  bn.randomize(1);
  MobileNetV1Config dense_config = tiny();
  dense_config.head = mobilenet::Head::Dense;
  dense_config.padding = mobilenet::Padding::symmetric(1);
  dense_config.activation = mobilenet::Activation::ReLU;
  dense_config.conv_bias = true;
  dense_config.softmax = false;
  MobileNetV1<float> dense(dense_config);
  dense.randomize(2);
  MobileNetV1Config backbone_config = tiny();
  backbone_config.head = mobilenet::Head::None;
  MobileNetV1<float> backbone(backbone_config);
  backbone.randomize(3);

  const auto f32 = [](const std::string&) { return std::string("F32"); };
  const auto mixed = [](const std::string& name) {
    if (name.rfind("stem.", 0) == 0) return std::string("F64");
    if (name.rfind("dsconv1.", 0) == 0) return std::string("F16");
    if (name.rfind("dsconv2.", 0) == 0) return std::string("BF16");
    return std::string("F32");
  };
  struct Seed {
    const char* name;
    std::vector<std::uint8_t> bytes;
  };
  const std::vector<std::uint8_t> bn_bytes = saved(bn, dir);
  const std::vector<Seed> seeds = {
      {"bn_f32.safetensors", bn_bytes},
      {"folded_f32.safetensors", saved(mobilenet::fold_batch_norm(bn), dir)},
      {"bn_f16.safetensors", rewrite(bn_bytes, [](const std::string&) { return std::string("F16"); })},
      {"bn_bf16.safetensors", rewrite(bn_bytes, [](const std::string&) { return std::string("BF16"); })},
      {"bn_mixed_dtypes.safetensors", rewrite(bn_bytes, mixed)},
      {"dense_symmetric_labels.safetensors",
       rewrite(saved(dense, dir), f32, {{"labels", "a\nb\nc\n"}, {"preprocessing", "torch"}})},
      {"backbone.safetensors", saved(backbone, dir)},
  };
  for (const Seed& seed : seeds) {
    const std::string path = dir + "/" + seed.name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(seed.bytes.data()), static_cast<std::streamsize>(seed.bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", path.c_str(), seed.bytes.size());
  }
  return 0;
}
