// SPDX-License-Identifier: MIT
#pragma once
// A model summary in the spirit of Keras' model.summary(): one row per layer with its output
// shape and parameters, plus the multiply-adds the paper counts (convolutions and the
// classifier; BatchNorm folds away, activations and pooling do no multiply-adds).

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "mobilenet/core/shape.hpp"

namespace mobilenet {

struct SummaryRow {
  std::string name;
  std::string type;
  Shape output;  // for a batch of one
  Index parameters = 0;
  Index trainable_parameters = 0;
  Index multiply_adds = 0;
};

// 1234567 -> "1,234,567"
inline std::string with_thousands(Index value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

struct Summary {
  std::string model_name;
  Shape input;
  std::vector<SummaryRow> rows;

  Index total_parameters() const { return sum(&SummaryRow::parameters); }
  Index trainable_parameters() const { return sum(&SummaryRow::trainable_parameters); }
  Index non_trainable_parameters() const { return total_parameters() - trainable_parameters(); }
  Index total_multiply_adds() const { return sum(&SummaryRow::multiply_adds); }

  // The row called `name`, or nullptr.
  const SummaryRow* find(const std::string& name) const {
    for (const auto& r : rows)
      if (r.name == name) return &r;
    return nullptr;
  }

  std::string to_string() const {
    auto shape_text = [](const Shape& s) {
      return "(None, " + std::to_string(s.h) + ", " + std::to_string(s.w) + ", " +
             std::to_string(s.c) + ")";
    };
    std::size_t name_width = 28;
    for (const auto& r : rows)
      name_width = std::max(name_width, r.name.size() + r.type.size() + 6);
    std::ostringstream os;
    const std::string rule(name_width + 24 + 12 + 16, '=');
    os << "Model: \"" << model_name << "\"\n" << std::string(rule.size(), '_') << '\n';
    os << std::left << std::setw(static_cast<int>(name_width)) << " Layer (type)" << std::setw(24)
       << "Output Shape" << std::right << std::setw(12) << "Param #" << std::setw(16) << "Mult-Adds"
       << '\n'
       << rule << '\n';
    os << std::left << std::setw(static_cast<int>(name_width)) << " input (InputLayer)" << std::setw(24)
       << shape_text(input) << std::right << std::setw(12) << 0 << std::setw(16) << 0 << '\n';
    for (const auto& r : rows) {
      os << std::left << std::setw(static_cast<int>(name_width)) << (" " + r.name + " (" + r.type + ")")
         << std::setw(24) << shape_text(r.output) << std::right << std::setw(12)
         << with_thousands(r.parameters) << std::setw(16) << with_thousands(r.multiply_adds) << '\n';
    }
    os << rule << '\n'
       << "Total params: " << with_thousands(total_parameters()) << '\n'
       << "Trainable params: " << with_thousands(trainable_parameters()) << '\n'
       << "Non-trainable params: " << with_thousands(non_trainable_parameters()) << '\n'
       << "Total mult-adds: " << with_thousands(total_multiply_adds()) << " ("
       << std::fixed << std::setprecision(1) << total_multiply_adds() / 1e6 << " M)\n"
       << std::string(rule.size(), '_') << '\n';
    return os.str();
  }

 private:
  Index sum(Index SummaryRow::*field) const {
    Index total = 0;
    for (const auto& r : rows) total += r.*field;
    return total;
  }
};

}  // namespace mobilenet
