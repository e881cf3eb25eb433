// SPDX-License-Identifier: MIT
// Runs a MobileNetV1 model file on raw tensors, for showing that our numbers equal TensorFlow
// Lite's (or finding the first layer where they do not):
//
//   run-tensor --model FILE [--precision int8|float] [--dump-dir DIR] --output OUT.bin IN.bin...
//
// Each IN.bin is one NHWC image of batch 1 in the model's input type, no header: uint8 (or int8)
// bytes for a quantized model, little-endian float32 otherwise. OUT.bin receives the outputs in
// the model's output type, concatenated in input order. A quantized model runs in 8-bit integers
// unless --precision float is given (its input is then dequantized and its output quantized
// with the file's parameters). --dump-dir DIR writes every layer's output of every input, in
// integers as TFLite's builtin kernels compute them: DIR/<input number>/NN_<layer>.bin with NN
// the TFLite operator's index, and DIR/<input number>/tensors.tsv listing them.
// Exit status 0 on success, 1 on a bad file or model, 2 on a bad command line.

#include <mobilenet/io/file.hpp>
#include <mobilenet/io/model_file.hpp>
#include <mobilenet/model/inference_plan.hpp>
#include <mobilenet/model/quantized_reference.hpp>
#include <mobilenet/plan.hpp>
#include <mobilenet/quantized_plan.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using mobilenet::Index;

const char* kUsage =
    "usage: run-tensor --model FILE [--precision int8|float] [--dump-dir DIR] --output OUT.bin IN.bin...\n"
    "  IN.bin          one NHWC image, batch 1, in the model's input type (uint8/int8 for quantized\n"
    "                  models, little-endian float32 otherwise), no header\n"
    "  --output FILE   the outputs in the model's output type, concatenated in input order\n"
    "  --precision P   int8 (default for quantized models) or float\n"
    "  --dump-dir DIR  every layer's output as TFLite's integer kernels compute it (quantized\n"
    "                  models): DIR/<input>/NN_<layer>.bin, NN the TFLite operator index\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string model, output, dump_dir;
  std::optional<mobilenet::Precision> precision;
  std::vector<std::string> inputs;
};

Options parse(int argc, char** argv) {
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
    } else if (arg == "--output") {
      o.output = value();
    } else if (arg == "--dump-dir") {
      o.dump_dir = value();
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
  if (o.model.empty()) throw UsageError("no --model given");
  if (o.output.empty()) throw UsageError("no --output given");
  if (o.inputs.empty()) throw UsageError("no input tensors given");
  return o;
}

// The whole file, which must hold exactly `bytes` bytes.
std::vector<std::uint8_t> read_tensor(const std::string& path, std::size_t bytes, const std::string& what) {
  std::vector<std::uint8_t> data = mobilenet::io::read_file(path, bytes + 1, "input tensor");
  if (data.size() != bytes)
    throw mobilenet::FormatError(path + ": " + std::to_string(data.size()) + " bytes; " + what + " needs exactly " +
                                 std::to_string(bytes));
  return data;
}

void write_file(const fs::path& path, const void* data, std::size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw mobilenet::IoError(path.string() + ": cannot write");
}

// TFLite's operator index of our layer at `position`: stem 0, block i's depthwise 2i-1 and
// pointwise 2i, pool 27, classifier 28, then RESHAPE 29 (a copy, not dumped) and SOFTMAX 30.
int operator_index(const std::string& layer, int position) { return layer == "softmax" ? position + 1 : position; }

void dump_layers(const mobilenet::QuantizedMobileNetV1& m, const std::vector<std::uint8_t>& image,
                 const fs::path& dir) {
  std::vector<mobilenet::QuantizedLayerOutput> layers;
  mobilenet::run_quantized_reference(m, image.data(), 1, &layers);
  fs::create_directories(dir);
  std::ofstream tsv(dir / "tensors.tsv");
  tsv << "index\tlayer\tdtype\tshape\tfile\n";
  const char* dtype = mobilenet::quant_type_name(m.io_type);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const mobilenet::QuantizedLayerOutput& l = layers[i];
    char name[160];
    const int index = operator_index(l.name, static_cast<int>(i));
    std::snprintf(name, sizeof name, "%02d_%s.bin", index, l.name.c_str());
    write_file(dir / name, l.data.data(), l.data.size());
    tsv << index << '\t' << l.name << '\t' << dtype << '\t' << l.shape.n << 'x' << l.shape.h << 'x' << l.shape.w
        << 'x' << l.shape.c << '\t' << name << '\n';
  }
  if (!tsv) throw mobilenet::IoError((dir / "tensors.tsv").string() + ": cannot write");
}

int run(const Options& o) {
  using namespace mobilenet;
  io::LoadedModel loaded = io::load_model(o.model);
  const bool quantized = loaded.quantized.has_value();
  const Precision precision = o.precision.value_or(quantized ? Precision::Int8 : Precision::Float);
  if (precision == Precision::Int8 && !quantized)
    throw ConfigError(o.model + " (" + loaded.format + ") is not quantized: --precision int8 needs a uint8 or int8 "
                      ".tflite");
  if (!o.dump_dir.empty() && !quantized)
    throw ConfigError("--dump-dir writes integer layer outputs; " + o.model + " is a float model");
  const Index in_values = loaded.model.input_shape(1).size();
  const std::size_t in_bytes = static_cast<std::size_t>(in_values) * (quantized ? 1 : sizeof(float));
  const std::string what = std::string("one ") + (quantized ? quant_type_name(loaded.quantized->io_type) : "float32") +
                           " image of " + loaded.model.input_shape(1).str();
  std::vector<std::uint8_t> out_bytes;
  const PlanOptions options;
  if (precision == Precision::Int8) {
    QuantizedPlan plan(*loaded.quantized, options);
    std::fprintf(stderr, "run-tensor: %s, int8 on %s\n", loaded.format.c_str(), kernels::int8_isa_name(plan.isa()));
    std::vector<std::uint8_t> out(static_cast<std::size_t>(plan.output_shape(1).size()));
    for (std::size_t i = 0; i < o.inputs.size(); ++i) {
      const std::vector<std::uint8_t> image = read_tensor(o.inputs[i], in_bytes, what);
      plan.run(image.data(), 1, out.data());
      out_bytes.insert(out_bytes.end(), out.begin(), out.end());
      if (!o.dump_dir.empty()) dump_layers(*loaded.quantized, image, fs::path(o.dump_dir) / std::to_string(i));
    }
  } else {
    Plan plan(loaded.model, options);
    std::fprintf(stderr, "run-tensor: %s, float on %s\n", loaded.format.c_str(), kernels::isa_name(plan.isa()));
    Tensor<float> in(plan.input_shape(1)), out(plan.output_shape(1));
    const Index out_values = out.shape().size();
    for (std::size_t i = 0; i < o.inputs.size(); ++i) {
      const std::vector<std::uint8_t> image = read_tensor(o.inputs[i], in_bytes, what);
      if (quantized)  // the file's uint8/int8 input, dequantized
        dequantize_values(image.data(), in_values, loaded.quantized->input_params(), loaded.quantized->io_type,
                          in.data());
      else
        std::memcpy(in.data(), image.data(), in_bytes);
      if (!o.dump_dir.empty()) dump_layers(*loaded.quantized, image, fs::path(o.dump_dir) / std::to_string(i));
      plan.run(in.view(), out.view());
      if (quantized) {  // back to the file's output type
        const std::size_t at = out_bytes.size();
        out_bytes.resize(at + static_cast<std::size_t>(out_values));
        quantize_values(out.data(), out_values, loaded.quantized->output_params(), loaded.quantized->io_type,
                        out_bytes.data() + at);
      } else {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(out.data());
        out_bytes.insert(out_bytes.end(), bytes, bytes + out_values * Index(sizeof(float)));
      }
    }
  }
  write_file(o.output, out_bytes.data(), out_bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "run-tensor: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "run-tensor: %s\n", e.what());
    return 1;
  }
}
