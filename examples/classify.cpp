// SPDX-License-Identifier: MIT
// Classifies photos with a pretrained MobileNetV1: prints the top-K labels with their
// probabilities and the time per image, or with --tsv / --json one line per image for scripts,
// and with --features each image's embedding. Several images run in batches (--batch).
//
//   classify --model FILE [--labels FILE] [--top K] [--threads N] [--batch N] [--tsv | --json]
//            [--precision int8|float] [--features FILE] IMAGE|DIR...
//
// The model is a .tflite (float, uint8 or int8) or .safetensors file; a quantized .tflite runs
// in 8-bit integers (as TensorFlow Lite computes it) unless --precision float is given; without --model the path in
// the environment variable MOBILENET_MODEL is used, else the model shipped in models/. Labels
// come from --labels, else from the model file (TFLite metadata), else, for a 1000- or
// 1001-class model, from the shipped ImageNet labels; failing all that, class numbers are printed.

#include <mobilenet/classifier.hpp>
#include <mobilenet/io/image.hpp>
#include <mobilenet/io/labels.hpp>
#include <mobilenet/io/model_file.hpp>
#include <mobilenet/io/preprocess.hpp>
#include <mobilenet/io/top_k.hpp>
#include <mobilenet/mobilenet.hpp>
#include <mobilenet/plan.hpp>
#include <mobilenet/version.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using mobilenet::Index;

const char* kUsage =
    "usage: classify --model FILE [--labels FILE] [--top K] [--threads N] [--batch N]\n"
    "                [--tsv | --json] [--precision int8|float] [--features FILE] IMAGE|DIR...\n"
    "  --model FILE     .tflite (float32, uint8 or int8) or .safetensors model; default: $MOBILENET_MODEL,\n"
    "                   else the shipped models/mobilenet_v1_0.5_160_quant.tflite\n"
    "  --labels FILE    one label per line (1000 or 1001 lines); default: the model's own labels,\n"
    "                   else the shipped models/imagenet_labels.txt (1000 or 1001 classes),\n"
    "                   else class numbers\n"
    "  --top K          how many classes to print per image (default 5)\n"
    "  --threads N      threads for decoding a batch and for one inference (default 1; 0: all cores)\n"
    "  --batch N        images decoded and classified together (default 8 for several images, else 1);\n"
    "                   the time printed per image is the batch's time (decoding, preprocessing,\n"
    "                   inference) divided by the images in the batch\n"
    "  --tsv            one line per image: path<TAB>class_index<TAB>label<TAB>probability\n"
    "  --json           one JSON object per line per image: path, width, height, model_format,\n"
    "                   precision and top: [{index, label, probability}] (UTF-8, most probable first)\n"
    "  --precision P    int8: run a quantized model in 8-bit integers (the default for uint8/int8\n"
    "                   files); float: run it dequantized in float (the only choice for float files)\n"
    "  --features FILE  also write each classified image's embedding (the pooled features the\n"
    "                   classifier reads) to FILE, one line per image: path<TAB>v1,v2,...\n"
    "  --version        print the version and exit\n"
    "  IMAGE|DIR        JPEG, PNG or BMP files; a directory means every such file in it, sorted\n";

// Bad command line: exit code 2 with the usage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string model;
  std::string labels;
  Index top = 5;
  Index threads = 1;          // resolved: 0 on the command line becomes the number of cores
  std::optional<Index> batch;  // unset: 8 for several images, else 1
  bool tsv = false;
  bool json = false;
  std::string features;  // "": no embeddings written
  std::optional<mobilenet::Precision> precision;  // unset: int8 for quantized files, else float
  std::vector<std::string> inputs;
};

// The files shipped in the repository's models/ directory, installed to share/mobilenet/models.
constexpr const char* kShippedModel = "models/mobilenet_v1_0.5_160_quant.tflite";
constexpr const char* kShippedLabels = "models/imagenet_labels.txt";

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

// A whole number >= `least` (1, or 0 for --threads where 0 means all cores), else UsageError.
Index parse_count(const std::string& flag, const std::string& text, long long least = 1) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < least)
    throw UsageError(flag + " expects a positive whole number, got '" + text + "'" +
                     (least == 0 ? " (0: all cores)" : ""));
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
    } else if (arg == "--version") {
      std::cout << "classify (mobilenet) " << mobilenet::kVersion << "\n";
      std::exit(0);
    } else if (arg == "--model") {
      o.model = value();
    } else if (arg == "--labels") {
      o.labels = value();
    } else if (arg == "--top") {
      o.top = parse_count(arg, value());
    } else if (arg == "--threads") {
      o.threads = parse_count(arg, value(), 0);
      if (o.threads > 256) throw UsageError("--threads expects at most 256, got " + std::to_string(o.threads));
      if (o.threads == 0)  // hardware_concurrency() is 0 when unknown
        o.threads = std::clamp<Index>(static_cast<Index>(std::thread::hardware_concurrency()), 1, 256);
    } else if (arg == "--batch") {
      o.batch = parse_count(arg, value());
      if (*o.batch > 256) throw UsageError("--batch expects at most 256, got " + std::to_string(*o.batch));
    } else if (arg == "--tsv") {
      o.tsv = true;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--features") {
      o.features = value();
    } else if (arg == "--precision") {
      const std::string p = value();
      if (p != "int8" && p != "float") throw UsageError("--precision expects int8 or float, got '" + p + "'");
      o.precision = p == "int8" ? mobilenet::Precision::Int8 : mobilenet::Precision::Float;
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
  if (o.tsv && o.json) throw UsageError("--tsv and --json exclude each other");
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

// `text` as a JSON string literal: quotes, backslashes and control characters escaped, valid
// UTF-8 passed through, and each byte that is not part of valid UTF-8 (a file name is any
// bytes) replaced by U+FFFD, so the output is always valid JSON.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = byte(i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      const char* named = c == '\n'   ? "\\n"
                          : c == '\t' ? "\\t"
                          : c == '\r' ? "\\r"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                                      : nullptr;
      char escaped[8];
      if (!named) std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += named ? named : escaped;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // A UTF-8 sequence: its length from the lead byte, continuation bytes 10xxxxxx, and no
      // overlong form, surrogate or code point above U+10FFFF.
      const std::size_t length = c >= 0xC2 && c <= 0xDF   ? 2
                                 : c >= 0xE0 && c <= 0xEF ? 3
                                 : c >= 0xF0 && c <= 0xF4 ? 4
                                                          : 0;
      bool valid = length != 0 && i + length <= text.size();
      for (std::size_t k = 1; valid && k < length; ++k) valid = (byte(i + k) & 0xC0) == 0x80;
      if (valid && length >= 3) {
        const unsigned char second = byte(i + 1);
        valid = !(c == 0xE0 && second < 0xA0) && !(c == 0xED && second > 0x9F) && !(c == 0xF0 && second < 0x90) &&
                !(c == 0xF4 && second > 0x8F);
      }
      if (valid) {
        out.append(text, i, length);
        i += length;
      } else {
        out += "\xEF\xBF\xBD";
        ++i;
      }
    }
  }
  return out + "\"";
}

// Runs `task(i)` for i in [0, count) on up to `threads` threads (the caller is one of them).
template <typename Task>
void parallel_for(std::size_t count, Index threads, const Task& task) {
  const std::size_t workers = std::min(count, static_cast<std::size_t>(std::max<Index>(threads, 1)));
  std::vector<std::thread> helpers;
  const auto work = [&](std::size_t first) {
    for (std::size_t i = first; i < count; i += workers) task(i);
  };
  for (std::size_t w = 1; w < workers; ++w) helpers.emplace_back(work, w);
  if (workers) work(0);
  for (std::thread& helper : helpers) helper.join();
}

// One file of a batch: its image size once decoded, or why it failed.
struct Slot {
  Index width = 0, height = 0;
  std::string error;  // "": decoded and preprocessed
};

bool all_finite(const float* values, Index count) {
  return std::all_of(values, values + count, [](float x) { return std::isfinite(x); });
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

  int failures = 0;
  const std::vector<std::string> files = expand_inputs(options.inputs, failures);
  const Index batch = std::max<Index>(
      1, std::min<Index>(options.batch.value_or(files.size() > 1 ? 8 : 1), static_cast<Index>(files.size())));
  // The execution plans: weights packed, up to `batch` images per run on `threads` threads, in
  // int8 for a quantized file unless float is asked; with --features, a second plan for the
  // backbone alone.
  const Precision precision = options.precision.value_or(loaded.quantized ? Precision::Int8 : Precision::Float);
  if (precision == Precision::Int8 && !loaded.quantized)
    throw std::runtime_error(options.model + " (" + loaded.format +
                             ") is not quantized: --precision int8 needs a uint8 or int8 .tflite");
  const PlanOptions plan_options{batch, static_cast<int>(options.threads)};
  auto make_plan = [&](bool backbone_only) {
    if (precision == Precision::Int8)
      return std::make_unique<InferencePlan>(quantized_with(*loaded.quantized, 0, backbone_only), plan_options);
    MobileNetV1Config c = config;
    if (backbone_only) c.head = Head::None;
    return std::make_unique<InferencePlan>(backbone_only ? with_config(model, c) : model, plan_options);
  };
  std::unique_ptr<InferencePlan> main_plan = make_plan(false);
  InferencePlan& plan = *main_plan;
  std::unique_ptr<InferencePlan> backbone;
  std::FILE* features_out = nullptr;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> features_file(nullptr, &std::fclose);
  if (!options.features.empty()) {
    backbone = make_plan(true);
    features_file.reset(std::fopen(options.features.c_str(), "w"));
    if (!features_file)
      throw std::runtime_error(options.features + ": cannot write features: " + std::strerror(errno));
    features_out = features_file.get();
  }

  if (!options.tsv && !options.json)
    std::printf("%s: %s model, running in %s\n", options.model.c_str(), loaded.format.c_str(),
                plan.describe_precision().c_str());
  const bool progress = files.size() > 1 && isatty(STDERR_FILENO);
  const Index top = std::min(options.top, config.num_classes);
  const Index classes = config.num_classes;
  const Index feature_size = model.features_shape(1).size();
  const Index image_size = plan.input_shape(1).size();
  Tensor<float> input(plan.input_shape(batch));
  Tensor<float> output(plan.output_shape(batch));
  Tensor<float> features(Shape(batch, 1, 1, feature_size));
  for (std::size_t first = 0; first < files.size(); first += static_cast<std::size_t>(batch)) {
    const std::size_t count = std::min(files.size() - first, static_cast<std::size_t>(batch));
    const auto start = std::chrono::steady_clock::now();
    // Decode and preprocess the batch's files in parallel, file i into input slot i.
    std::vector<Slot> slots(count);
    parallel_for(count, options.threads, [&](std::size_t i) {
      try {
        const io::Image image = io::load_image(files[first + i]);
        slots[i].width = image.width;
        slots[i].height = image.height;
        io::preprocess_into(image, loaded.preprocessing, input.view().batch(static_cast<Index>(i)));
      } catch (const mobilenet::Error& error) {
        slots[i].error = error.what();  // names the file
      } catch (const std::exception& error) {
        slots[i].error = files[first + i] + ": " + error.what();
      }
    });
    // The good images move to the front; row[i] is file i's row in the batch, or -1.
    std::vector<Index> row(count, -1);
    Index good = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (!slots[i].error.empty()) continue;
      if (good != static_cast<Index>(i))
        std::copy_n(input.data() + static_cast<Index>(i) * image_size, image_size, input.data() + good * image_size);
      row[i] = good++;
    }
    if (good > 0) {
      const TensorView<const float> in(input.data(), plan.input_shape(good));
      plan.run(in, TensorView<float>(output.data(), plan.output_shape(good)));
      if (backbone) backbone->run(in, TensorView<float>(features.data(), Shape(good, 1, 1, feature_size)));
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
                      static_cast<double>(count);

    if (progress) std::fputs("\r\033[K", stderr);  // clear the bar before printing
    for (std::size_t i = 0; i < count; ++i) {
      const std::string& path = files[first + i];
      const float* p = row[i] >= 0 ? output.data() + row[i] * classes : nullptr;
      const float* f = row[i] >= 0 ? features.data() + row[i] * feature_size : nullptr;
      // NaN or infinity comes only from non-finite or overflowing weights: no answer then.
      if (p && (!all_finite(p, classes) || (backbone && !all_finite(f, feature_size))))
        slots[i].error = path + ": the model's output is not finite (NaN or infinity): its weights overflow "
                                "or hold non-finite values, so there is no answer";
      if (!slots[i].error.empty()) {
        std::fflush(stdout);
        std::fprintf(stderr, "classify: %s\n", slots[i].error.c_str());
        ++failures;
        continue;
      }
      const std::vector<io::ClassScore> best = io::top_k(p, classes, top);
      if (options.tsv) {
        std::printf("%s\t%lld\t%s\t%.6f\n", path.c_str(), static_cast<long long>(best[0].index),
                    label_of(best[0].index).c_str(), static_cast<double>(best[0].probability));
      } else if (options.json) {
        std::string line = "{\"path\": " + json_string(path) + ", \"width\": " + std::to_string(slots[i].width) +
                           ", \"height\": " + std::to_string(slots[i].height) +
                           ", \"model_format\": " + json_string(loaded.format) +
                           ", \"precision\": " + json_string(precision_name(precision)) + ", \"top\": [";
        for (std::size_t k = 0; k < best.size(); ++k) {
          char probability[32];
          std::snprintf(probability, sizeof probability, "%.6f", static_cast<double>(best[k].probability));
          line += (k ? ", " : "") + std::string("{\"index\": ") + std::to_string(best[k].index) +
                  ", \"label\": " + json_string(label_of(best[k].index)) + ", \"probability\": " + probability + "}";
        }
        std::printf("%s]}\n", line.c_str());
      } else {
        std::printf("%s (%lld x %lld): %.1f ms\n", path.c_str(), static_cast<long long>(slots[i].width),
                    static_cast<long long>(slots[i].height), ms);
        for (const io::ClassScore& s : best)
          std::printf("  %5lld  %.4f  %s\n", static_cast<long long>(s.index), static_cast<double>(s.probability),
                      label_of(s.index).c_str());
      }
      if (features_out) {
        std::fprintf(features_out, "%s\t", path.c_str());
        for (Index k = 0; k < feature_size; ++k)  // 9 digits: reads back as the same float
          std::fprintf(features_out, k ? ",%.9g" : "%.9g", static_cast<double>(f[k]));
        std::fputc('\n', features_out);
      }
    }
    std::fflush(stdout);
    if (progress) draw_progress(first + count, files.size());
  }
  if (features_file && std::fclose(features_file.release()) != 0)
    throw std::runtime_error(options.features + ": cannot write features: " + std::strerror(errno));
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
