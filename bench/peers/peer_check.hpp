// SPDX-License-Identifier: MIT
#pragma once
// The check that makes the comparison meaningful: a peer engine, given our model's folded
// weights, must compute what our reference path computes for the same images.

#include <algorithm>
#include <cmath>

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

// Runs `batch` random images through our model and through the peer `Engine` built from it
// (Engine(FoldedNetwork, batch, threads) with input(), run(), output(): batch x classes).
template <typename Engine>
Agreement compare_with(const MobileNetV1<float>& model, Index batch, int threads, unsigned image_seed) {
  OursMobileNet ours(model, batch, threads);
  Engine peer(fold_for_peers(model), batch, threads);
  const Index values = model.input_shape(batch).size();
  fill_images(ours.input(), values, image_seed);
  std::copy(ours.input(), ours.input() + values, peer.input());
  ours.run();
  peer.run();

  Agreement a;
  a.images = batch;
  const Index classes = model.config().num_classes;
  for (Index n = 0; n < batch; ++n) {
    const float* p = ours.output() + n * classes;
    const float* q = peer.output() + n * classes;
    for (Index k = 0; k < classes; ++k) {
      a.max_abs_difference = std::max(a.max_abs_difference, std::fabs(double(p[k]) - double(q[k])));
      a.largest_probability = std::max(a.largest_probability, double(p[k]));
    }
    if (std::max_element(p, p + classes) - p == std::max_element(q, q + classes) - q) ++a.same_top1;
  }
  return a;
}

}  // namespace mobilenet::peers
