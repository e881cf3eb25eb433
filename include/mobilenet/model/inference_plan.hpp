// SPDX-License-Identifier: MIT
#pragma once
// A compiled model in either precision behind one float interface: float images in, float
// outputs out (probabilities, logits or features). The float precision runs Plan; int8 runs
// QuantizedPlan, quantizing the images with the model's input parameters and dequantizing
// its output into preallocated buffers, so a run allocates nothing either way. What the
// Classifier and the classify example run.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/plan.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"
#include "mobilenet/model/quantized_plan.hpp"

namespace mobilenet {

enum class Precision { Float, Int8 };

inline const char* precision_name(Precision p) { return p == Precision::Int8 ? "int8" : "float"; }

// The same quantized network at another resolution (the weights fit any: the pool is global),
// or its backbone alone (no classifier, no softmax).
inline QuantizedMobileNetV1 quantized_with(QuantizedMobileNetV1 model, Index resolution, bool backbone) {
  if (resolution > 0) model.config.resolution = resolution;
  if (backbone) {
    model.classifier.reset();
    model.softmax.reset();
    model.config.head = Head::None;
    model.config.num_classes = 0;
    model.config.softmax = false;
  }
  return model;
}

class InferencePlan {
 public:
  InferencePlan(const MobileNetV1<float>& model, const PlanOptions& options)
      : float_(std::make_unique<Plan>(model, options)) {}
  InferencePlan(const QuantizedMobileNetV1& model, const PlanOptions& options)
      : int8_(std::make_unique<QuantizedPlan>(model, options)),
        in_bytes_(static_cast<std::size_t>(int8_->input_shape(int8_->batch()).size())),
        out_bytes_(static_cast<std::size_t>(int8_->output_shape(int8_->batch()).size())) {}

  Precision precision() const { return int8_ ? Precision::Int8 : Precision::Float; }
  // The precision and the instruction set, e.g. "int8 (avx512-vnni)" or "float (avx2)".
  std::string describe_precision() const {
    return int8_ ? std::string("int8 (") + kernels::int8_isa_name(int8_->isa()) + ")"
                 : std::string("float (") + kernels::isa_name(float_->isa()) + ")";
  }
  Shape input_shape(Index batch = 1) const { return int8_ ? int8_->input_shape(batch) : float_->input_shape(batch); }
  // N x 1 x 1 x outputs.
  Shape output_shape(Index batch = 1) const {
    if (int8_) return int8_->output_shape(batch);
    const Shape s = float_->output_shape(batch);
    return Shape(batch, 1, 1, s.h * s.w * s.c);
  }
  Index batch() const { return int8_ ? int8_->batch() : float_->batch(); }
  // The float plan, or nullptr when the model runs in int8 (and the reverse).
  Plan* float_plan() { return float_.get(); }
  QuantizedPlan* int8_plan() { return int8_.get(); }

  // in: N x R x R x C (N <= batch) -> out: N outputs. Allocates nothing.
  void run(TensorView<const float> in, TensorView<float> out) {
    const Index n = in.shape().n;
    if (out.shape().size() != output_shape(n).size())
      throw ShapeError(detail::concat("InferencePlan: output should hold ", output_shape(n).size(), " values, got ",
                                      out.shape().str()));
    if (!int8_) return float_->run(in, TensorView<float>(out.data(), float_->output_shape(n)));
    if (in.shape() != input_shape(n) || n < 1 || n > batch())
      throw ShapeError(detail::concat("InferencePlan: expects input ", input_shape(batch()).str(), " with N from 1 to ",
                                      batch(), ", got ", in.shape().str()));
    int8_->quantize_input(in.data(), in.shape().size(), in_bytes_.data());
    int8_->run(in_bytes_.data(), n, out_bytes_.data());
    int8_->dequantize_output(out_bytes_.data(), output_shape(n).size(), out.data());
  }

 private:
  std::unique_ptr<Plan> float_;
  std::unique_ptr<QuantizedPlan> int8_;
  std::vector<std::uint8_t> in_bytes_, out_bytes_;  // the int8 plan's, for a whole batch
};

}  // namespace mobilenet
