// SPDX-License-Identifier: MIT
// Built with -fno-inline, where a compiler inlines only what must be inlined, for
// tests/scripts/test_kernels_inlined.sh: the helpers of every kernel's hot loop must not
// appear in it as functions of their own. Built as a whole program (Plan and QuantizedPlan
// instantiate every kernel) but never run.
#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"
#include "mobilenet/quantized_plan.hpp"

int main(int argc, char**) {
  if (argc < 1000) return 0;  // the kernels must be instantiated, not run
  mobilenet::MobileNetV1<float> model(mobilenet::MobileNetV1Config::tf_slim(0.25, 128));
  mobilenet::Plan plan(model);
  mobilenet::Tensor<float> images(plan.input_shape()), probabilities(plan.output_shape());
  plan.run(images.view(), probabilities.view());
  mobilenet::QuantizedMobileNetV1 quantized;
  mobilenet::QuantizedPlan quantized_plan(quantized);
  std::uint8_t pixels[1] = {}, scores[1] = {};
  quantized_plan.run(pixels, 1, scores);
  return 0;
}
