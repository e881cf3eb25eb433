// SPDX-License-Identifier: MIT
// Prints the layer table of a MobileNetV1 configuration: output shapes, parameters and
// multiply-adds per layer, with totals.
//
//   summary --alpha 0.5 --resolution 160 [--classes 1001] [--activation relu|relu6]
//           [--padding same|symmetric] [--head conv|dense] [--bias] [--keras-seed]

#include <mobilenet/mobilenet.hpp>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

const char* kUsage =
    "usage: summary [--alpha A] [--resolution R] [--classes K] [--activation relu|relu6]\n"
    "               [--padding same|symmetric] [--head conv|dense] [--bias] [--keras-seed]\n"
    "  --alpha A        width multiplier (default 1.0)\n"
    "  --resolution R   input is R x R (default 224)\n"
    "  --classes K      classifier outputs (default 1000)\n"
    "  --activation     relu6 (default) or relu\n"
    "  --padding        same (TensorFlow, default) or symmetric (PyTorch)\n"
    "  --head           conv (pool -> 1x1 conv, default) or dense (pool -> Dense)\n"
    "  --bias           a bias on every convolution\n"
    "  --keras-seed     the seed notebook's Keras model (biases, ReLU, AvgPool 7, Dense);\n"
    "                   later options override it\n";

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
