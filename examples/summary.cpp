// SPDX-License-Identifier: MIT
// Prints the layer table of a MobileNetV1 configuration: output shapes, parameters and
// multiply-adds per layer, with totals. With --paper-tables, prints instead the MobileNet
// paper's accounting tables (2, 4, 6, 7) beside ours, and the textbook example of a standard
// convolution against its depthwise-separable twin.
//
//   summary --alpha 0.5 --resolution 160 [--classes 1001] [--activation relu|relu6]
//           [--padding same|symmetric] [--head conv|dense] [--bias] [--keras-seed]
//   summary --paper-tables

#include <mobilenet/mobilenet.hpp>
#include <mobilenet/model/accounting.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

const char* kUsage =
    "usage: summary [--alpha A] [--resolution R] [--classes K] [--activation relu|relu6]\n"
    "               [--padding same|symmetric] [--head conv|dense] [--bias] [--keras-seed]\n"
    "       summary --paper-tables\n"
    "  --alpha A        width multiplier (default 1.0)\n"
    "  --resolution R   input is R x R (default 224)\n"
    "  --classes K      classifier outputs (default 1000)\n"
    "  --activation     relu6 (default) or relu\n"
    "  --padding        same (TensorFlow, default) or symmetric (PyTorch)\n"
    "  --head           conv (pool -> 1x1 conv, default) or dense (pool -> Dense)\n"
    "  --bias           a bias on every convolution\n"
    "  --keras-seed     the seed notebook's Keras model (biases, ReLU, AvgPool 7, Dense);\n"
    "                   later options override it\n"
    "  --paper-tables   the paper's Tables 2, 4, 6, 7 and the textbook example, ours beside theirs\n";

double parse_number(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size()) throw std::invalid_argument(flag + " expects a number, got '" + text + "'");
  return value;
}

mobilenet::Index parse_integer(const std::string& flag, const std::string& text) {
  const double value = parse_number(flag, text);
  if (value != static_cast<double>(static_cast<long long>(value)))
    throw std::invalid_argument(flag + " expects a whole number, got '" + text + "'");
  return static_cast<mobilenet::Index>(value);
}

std::string millions(mobilenet::Index value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f M", static_cast<double>(value) / 1e6);
  return text;
}

std::string number(double value, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// One printf-formatted line (format-checked by g++ and clang).
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void line(const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
}

void print_table2() {
  using namespace mobilenet;
  const Accounting a = paper_accounting(MobileNetV1<float>());
  line("Table 2: resources per layer type, MobileNet 1.0 / 224 (%s)", a.model_name.c_str());
  line("  Counting: convolutions and the 1024 x 1000 fully connected layer; weights only (no");
  line("  BatchNorm, no biases). Ours exactly, our share, the paper's share.");
  line("  %-17s %14s %8s %8s   %11s %8s %8s", "Type", "Mult-Adds", "share", "paper", "Parameters",
       "share", "paper");
  for (const auto& row : paper::kTable2) {
    line("  %-17s %14s %7.2f%% %7.2f%%   %11s %7.2f%% %7.2f%%", layer_kind_name(row.kind),
         with_thousands(a.multiply_adds(row.kind)).c_str(), a.multiply_add_percent(row.kind),
         row.multiply_add_percent, with_thousands(a.parameters(row.kind)).c_str(),
         a.parameter_percent(row.kind), row.parameter_percent);
  }
  line("  %-17s %14s%32s", "Total", with_thousands(a.total_multiply_adds()).c_str(),
       with_thousands(a.total_parameters()).c_str());
  line("  The paper's stem share, 1.19%%, has two digits swapped: the stem does 112 x 112 x 32 x 27");
  line("  = 10,838,016 mult-adds, 1.91%%. The paper's four shares add up to 99.29%%; with 1.91%% to 100.01%%.");
}

void print_model_row(const char* label, const mobilenet::Accounting& a,
                     const mobilenet::paper::ModelFigures& paper) {
  using mobilenet::with_thousands;
  line("  %-24s %15s %10s %7.0f M   %12s %8s %6.1f M", label,
       with_thousands(a.total_multiply_adds()).c_str(), millions(a.total_multiply_adds()).c_str(),
       paper.million_multiply_adds, with_thousands(a.total_parameters()).c_str(),
       millions(a.total_parameters()).c_str(), paper.million_parameters);
}

void print_model_header(const char* first) {
  line("  %-24s %15s %10s %9s   %12s %8s %8s", first, "Mult-Adds", "", "paper", "Parameters", "",
       "paper");
}

void print_table4() {
  using namespace mobilenet;
  const MobileNetV1<float> model;
  const Accounting separable = paper_accounting(model);
  const Accounting full = paper_accounting(model, BlockConvolution::Full);
  line("Table 4: MobileNet against the same network with full 3x3 convolutions in its 13 blocks");
  print_model_header("Model");
  print_model_row("Conv MobileNet", full, paper::kConvMobileNet);
  print_model_row("MobileNet", separable, paper::kMobileNet);
  line("  Conv MobileNet does %.2fx the mult-adds and has %.2fx the parameters.",
       static_cast<double>(full.total_multiply_adds()) / separable.total_multiply_adds(),
       static_cast<double>(full.total_parameters()) / separable.total_parameters());
  line("  (Ours is 4867.3 M; the paper prints 4866 M, 0.03%% less. It gives no layer breakdown.)");
}

template <std::size_t N>
void print_scaling_table(const char* title, const std::array<mobilenet::paper::ModelFigures, N>& rows) {
  using namespace mobilenet;
  line("%s", title);
  print_model_header("Model");
  for (const auto& row : rows) {
    MobileNetV1Config c;
    c.alpha = row.alpha;
    c.resolution = row.resolution;
    const std::string label = number(row.alpha, "%.2f") + " MobileNet-" + std::to_string(row.resolution);
    print_model_row(label.c_str(), paper_accounting(MobileNetV1<float>(c)), row);
  }
}

void print_textbook_example() {
  using namespace mobilenet;
  const ConvPairCost c = conv_pair_cost(Shape(1, 12, 12, 3), 5, 1, Padding::valid(), 256);
  line("Textbook example: 12x12x3 input, 5x5 kernels, 256 output channels, valid padding -> 8x8x256");
  line("  standard convolution  8*8*5*5*3*256 = %s mult-adds, %s parameters",
       with_thousands(c.standard_multiply_adds).c_str(), with_thousands(c.standard_parameters).c_str());
  line("  depthwise 5x5         8*8*5*5*3     = %s", with_thousands(c.depthwise_multiply_adds).c_str());
  line("  pointwise 1x1         8*8*3*256     = %s", with_thousands(c.pointwise_multiply_adds).c_str());
  line("  depthwise-separable                 = %s mult-adds, %s parameters",
       with_thousands(c.separable_multiply_adds()).c_str(), with_thousands(c.separable_parameters()).c_str());
  line("  separable / standard = %.4f = %.1f%% of the cost, %.1fx fewer mult-adds",
       c.multiply_add_ratio(), 100.0 * c.multiply_add_ratio(), 1.0 / c.multiply_add_ratio());
  line("  formula 1/N + 1/Dk^2 = 1/256 + 1/25 = %.4f", c.formula_ratio());
  line("  (\"22.7%% less computation\" is wrong: it is %.1f%% less, or 22.8x fewer mult-adds.)",
       100.0 * (1.0 - c.multiply_add_ratio()));
}

void print_paper_tables() {
  print_table2();
  std::printf("\n");
  print_table4();
  std::printf("\n");
  print_scaling_table("Table 6: width multiplier alpha at resolution 224", mobilenet::paper::kWidthMultiplierTable);
  std::printf("\n");
  print_scaling_table("Table 7: resolution at alpha 1.0", mobilenet::paper::kResolutionTable);
  line("  The paper rounds 568.7 M up to 569 but prints 290.7 M as 290: within 1 M either way.");
  std::printf("\n");
  print_textbook_example();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mobilenet;
  MobileNetV1Config config;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
        return argv[++i];
      };
      if (flag == "--help" || flag == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (flag == "--paper-tables") {
        print_paper_tables();
        return 0;
      } else if (flag == "--keras-seed") {
        config = MobileNetV1Config::keras_seed();
      } else if (flag == "--alpha") {
        config.alpha = parse_number(flag, value());
      } else if (flag == "--resolution") {
        config.resolution = parse_integer(flag, value());
      } else if (flag == "--classes") {
        config.num_classes = parse_integer(flag, value());
      } else if (flag == "--activation") {
        const std::string v = value();
        if (v == "relu") config.activation = Activation::ReLU;
        else if (v == "relu6") config.activation = Activation::ReLU6;
        else throw std::invalid_argument("--activation expects relu or relu6, got '" + v + "'");
      } else if (flag == "--padding") {
        const std::string v = value();
        if (v == "same") config.padding = Padding::same();
        else if (v == "symmetric") config.padding = Padding::symmetric(1);
        else throw std::invalid_argument("--padding expects same or symmetric, got '" + v + "'");
      } else if (flag == "--head") {
        const std::string v = value();
        if (v == "conv") config.head = Head::Conv1x1;
        else if (v == "dense") config.head = Head::Dense;
        else throw std::invalid_argument("--head expects conv or dense, got '" + v + "'");
      } else if (flag == "--bias") {
        config.conv_bias = true;
      } else {
        throw std::invalid_argument("unknown option '" + flag + "'");
      }
    }
    const MobileNetV1<float> model(config);
    std::cout << model.summary().to_string();
  } catch (const std::invalid_argument& e) {
    std::cerr << "summary: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const mobilenet::Error& e) {
    std::cerr << "summary: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
