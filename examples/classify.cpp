// SPDX-License-Identifier: MIT
// Classifies photos with a pretrained MobileNetV1: prints the top-K labels with their
// probabilities and the time per image, or with --tsv one line per image for scripts.
//
//   classify --model FILE [--labels FILE] [--top K] [--threads N] [--tsv] IMAGE|DIR...
//
// The model is a .tflite (float or uint8) or .safetensors file; without --model the path in
// the environment variable MOBILENET_MODEL is used, else the model shipped in models/. Labels
// come from --labels, else from the model file (TFLite metadata), else, for a 1000- or
// 1001-class model, from the shipped ImageNet labels; failing all that, class numbers are printed.

#include <mobilenet/io/image.hpp>
#include <mobilenet/io/labels.hpp>
#include <mobilenet/io/model_file.hpp>
#include <mobilenet/io/preprocess.hpp>
#include <mobilenet/mobilenet.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;
using mobilenet::Index;

const char* kUsage =
    "usage: classify --model FILE [--labels FILE] [--top K] [--threads N] [--tsv] IMAGE|DIR...\n"
    "  --model FILE    .tflite (float32 or uint8) or .safetensors model; default: $MOBILENET_MODEL,\n"
    "                  else the shipped models/mobilenet_v1_0.5_160_quant.tflite\n"
    "  --labels FILE   one label per line (1000 or 1001 lines); default: the model's own labels,\n"
    "                  else the shipped models/imagenet_labels_1001.txt (1000 or 1001 classes),\n"
    "                  else class numbers\n"
    "  --top K         how many classes to print per image (default 5)\n"
    "  --threads N     threads for one inference (default 1)\n"
    "  --tsv           one line per image: path<TAB>class_index<TAB>label<TAB>probability\n"
    "  IMAGE|DIR       JPEG, PNG or BMP files; a directory means every such file in it, sorted\n";

// Bad command line: exit code 2 with the usage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string model;
  std::string labels;
  Index top = 5;
  Index threads = 1;
  bool tsv = false;
  std::vector<std::string> inputs;
};

// The files shipped in the repository's models/ directory, installed to share/mobilenet/models.
constexpr const char* kShippedModel = "models/mobilenet_v1_0.5_160_quant.tflite";
constexpr const char* kShippedLabels = "models/imagenet_labels_1001.txt";

// `relative` (e.g. kShippedModel) under the first root that holds it, else "". Roots: the
// install tree around this executable (<bin>/../share/mobilenet, so an installed copy finds its
// data wherever the prefix was moved), the configured install data directory, then the source
// tree this program was built from (a build that was never installed).
std::string find_shipped(const char* relative) {
  std::vector<fs::path> roots;
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);  // Linux; elsewhere skipped
  if (!error) roots.push_back(exe.parent_path().parent_path() / "share" / "mobilenet");
#ifdef MOBILENET_INSTALL_DATA_DIR
  roots.emplace_back(MOBILENET_INSTALL_DATA_DIR);
#endif
#ifdef MOBILENET_SOURCE_DIR
  roots.emplace_back(MOBILENET_SOURCE_DIR);
#endif
  for (const fs::path& root : roots) {
    const fs::path candidate = root / relative;
    if (fs::is_regular_file(candidate, error)) return candidate.string();
  }
  return {};
}

Index parse_positive(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < 1)
    throw UsageError(flag + " expects a positive whole number, got '" + text + "'");
  return static_cast<Index>(value);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--model") {
      o.model = value();
    } else if (arg == "--labels") {
      o.labels = value();
    } else if (arg == "--top") {
      o.top = parse_positive(arg, value());
    } else if (arg == "--threads") {
      o.threads = parse_positive(arg, value());
      if (o.threads > 256) throw UsageError("--threads expects at most 256, got " + std::to_string(o.threads));
    } else if (arg == "--tsv") {
      o.tsv = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option '" + arg + "'");
    } else {
      o.inputs.push_back(arg);
    }
  }
  if (o.model.empty()) {
    const char* env = std::getenv("MOBILENET_MODEL");
    if (env && *env) o.model = env;
  }
  if (o.model.empty()) o.model = find_shipped(kShippedModel);
  if (o.model.empty())
    throw UsageError(std::string("no model: pass --model FILE or set MOBILENET_MODEL (the shipped ") +
                     kShippedModel + " was not found)");
  if (o.inputs.empty()) throw UsageError("no images given");
  return o;
}

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// Files named on the command line, in order; a directory contributes every entry with an image
// extension that is not itself a directory, sorted (a dangling link or unreadable file is then
// reported when it is read, not skipped). A directory that cannot be listed is reported and
// counted in `failures`; the other inputs still run.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, int& failures) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code error;
    if (!fs::is_directory(input, error)) {
      files.push_back(input);  // a missing or bad file is reported when it is read
      continue;
    }
    std::vector<std::string> found;
    for (fs::directory_iterator it(input, error), end; !error && it != end; it.increment(error)) {
      std::error_code entry_error;
      if (has_image_extension(it->path()) && !it->is_directory(entry_error)) found.push_back(it->path().string());
    }
    if (error) {
      std::fprintf(stderr, "classify: %s: cannot list directory: %s\n", input.c_str(), error.message().c_str());
      ++failures;
      continue;
    }
    if (found.empty()) std::cerr << "classify: " << input << ": no .jpg, .jpeg, .png or .bmp files\n";
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

// "[=========>          ] 12/40" on stderr, redrawn in place; only used on a terminal.
void draw_progress(std::size_t done, std::size_t total) {
  constexpr std::size_t kWidth = 30;
  const std::size_t filled = total ? done * kWidth / total : kWidth;
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  std::fprintf(stderr, "\r[%s] %zu/%zu", bar.c_str(), done, total);
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

int run(const Options& options) {
  using namespace mobilenet;
  io::LoadedModel loaded = io::load_model(options.model);
  const MobileNetV1<float>& model = loaded.model;
  const MobileNetV1Config& config = model.config();
  if (config.head == Head::None)
    throw std::runtime_error(options.model + ": a backbone without a classifier (its output is " +
                             model.output_shape(1).str() + " features), nothing to classify");
  std::vector<std::string> labels;
  if (!options.labels.empty()) labels = io::load_labels(options.labels, config.num_classes);
  else if (static_cast<Index>(loaded.labels.size()) == config.num_classes) labels = loaded.labels;
  else if (config.num_classes == 1000 || config.num_classes == 1001) {
    const std::string shipped = find_shipped(kShippedLabels);  // the official models' ImageNet classes
    if (!shipped.empty()) labels = io::load_labels(shipped, config.num_classes);
  }
  auto label_of = [&](Index k) { return labels.empty() ? std::to_string(k) : labels[std::size_t(k)]; };
  // The execution plan: BatchNorm folded, weights packed, `threads` threads per inference.
  Plan plan(model, PlanOptions{1, static_cast<int>(options.threads)});

  int failures = 0;
  const std::vector<std::string> files = expand_inputs(options.inputs, failures);
  const bool progress = files.size() > 1 && isatty(STDERR_FILENO);
  const Index top = std::min(options.top, config.num_classes);
  Tensor<float> input(model.input_shape(1));
  Tensor<float> output(model.output_shape(1));
  std::vector<Index> order(static_cast<std::size_t>(config.num_classes));
  for (std::size_t f = 0; f < files.size(); ++f) {
    const std::string& path = files[f];
    try {
      const io::Image image = io::load_image(path);
      const auto start = std::chrono::steady_clock::now();
      io::preprocess_into(image, loaded.preprocessing, input.view());
      plan.run(input.view(), output.view());
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      const float* p = output.data();
      // NaN or infinity comes only from non-finite or overflowing weights: no answer then.
      if (!std::all_of(p, p + config.num_classes, [](float x) { return std::isfinite(x); }))
        throw Error(path + ": the model's output is not finite (NaN or infinity): its weights overflow "
                    "or hold non-finite values, so there is no answer");
      std::iota(order.begin(), order.end(), Index(0));
      std::partial_sort(order.begin(), order.begin() + top, order.end(),
                        [&](Index a, Index b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
      if (progress) std::fputs("\r\033[K", stderr);  // clear the bar before printing
      if (options.tsv) {
        std::printf("%s\t%lld\t%s\t%.6f\n", path.c_str(), static_cast<long long>(order[0]),
                    label_of(order[0]).c_str(), static_cast<double>(p[order[0]]));
      } else {
        std::printf("%s (%lld x %lld): %.1f ms\n", path.c_str(), static_cast<long long>(image.width),
                    static_cast<long long>(image.height), ms);
        for (Index k = 0; k < top; ++k)
          std::printf("  %5lld  %.4f  %s\n", static_cast<long long>(order[std::size_t(k)]),
                      static_cast<double>(p[order[std::size_t(k)]]), label_of(order[std::size_t(k)]).c_str());
      }
      std::fflush(stdout);
    } catch (const Error& error) {
      if (progress) std::fputs("\r\033[K", stderr);
      std::fprintf(stderr, "classify: %s\n", error.what());
      ++failures;
    }
    if (progress) draw_progress(f + 1, files.size());
  }
  if (files.empty()) {
    if (!failures) std::fprintf(stderr, "classify: no images to classify\n");
    return 1;
  }
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& error) {
    std::fprintf(stderr, "classify: %s\n%s", error.what(), kUsage);
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "classify: %s\n", error.what());
    return 1;
  }
}
