// SPDX-License-Identifier: MIT
#pragma once
// The check that makes the comparison meaningful: every engine timed (the peers, given our
// model's folded weights, and our own fast path) must compute what our reference path
// (MobileNetV1::predict: unfolded, plain kernels) computes for the same images.

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ours.hpp"
#include "peer_network.hpp"

namespace mobilenet::peers {

// Random weights give flat distributions (the largest probability is about 0.01 of 1001), so
// besides the absolute 1e-4 the difference is also held to 1e-4 of the largest probability.
inline constexpr double kAbsoluteTolerance = 1e-4, kRelativeTolerance = 1e-4;

struct Agreement {
  double max_abs_difference = 0;   // over every probability of every image
  double largest_probability = 0;  // near 1/classes would make the check weak
  Index same_top1 = 0, images = 0;
  bool ok() const {
    return max_abs_difference <= kAbsoluteTolerance &&
           max_abs_difference <= kRelativeTolerance * largest_probability && same_top1 == images;
  }
};

// An engine for `model`: peers are built from the folded network, ours from the model itself.
template <typename Engine>
Engine make_engine(const MobileNetV1<float>& model, Index batch, int threads) {
  if constexpr (std::is_same_v<Engine, OursMobileNet>) {
    return Engine(model, batch, threads);
  } else {
    return Engine(fold_for_peers(model), batch, threads);
  }
}

// Runs `batch` random images through our reference path and through `Engine` built for the
// model (input(), run(), output(): batch x classes).
template <typename Engine>
Agreement compare_with(const MobileNetV1<float>& model, Index batch, int threads, unsigned image_seed) {
  Engine engine = make_engine<Engine>(model, batch, threads);
  Tensor<float> images(model.input_shape(batch));
  fill_images(images.data(), images.size(), image_seed);
  std::copy(images.data(), images.data() + images.size(), engine.input());
  const Tensor<float> reference = model.predict(images);
  engine.run();

  Agreement a;
  a.images = batch;
  const Index classes = model.config().num_classes;
  for (Index n = 0; n < batch; ++n) {
    const float* p = reference.data() + n * classes;
    const float* q = engine.output() + n * classes;
    for (Index k = 0; k < classes; ++k) {
      a.max_abs_difference = std::max(a.max_abs_difference, std::fabs(double(p[k]) - double(q[k])));
      a.largest_probability = std::max(a.largest_probability, double(p[k]));
    }
    if (std::max_element(p, p + classes) - p == std::max_element(q, q + classes) - q) ++a.same_top1;
  }
  return a;
}

}  // namespace mobilenet::peers
