// SPDX-License-Identifier: MIT
#pragma once
// The "ours" side of the peer benchmark, behind one small class so that moving it to another
// public path is an edit here only.
//
// Path used: the execution plan (model/plan.hpp): BatchNorm folded and weights packed at
// build time, one preallocated arena, fused depthwise+pointwise bands, its own thread pool.

#include <algorithm>
#include <random>

#include <mobilenet/mobilenet.hpp>
#include <mobilenet/plan.hpp>

namespace mobilenet::peers {

inline const char* ours_path_name() { return "mobilenet::Plan (execution plan, own thread pool)"; }

class OursMobileNet {
 public:
  // in: batch x R x R x Cin -> out: batch x 1 x 1 x classes
  OursMobileNet(const MobileNetV1<float>& model, Index batch, int threads)
      : plan_(model, PlanOptions{batch, threads}), input_(plan_.input_shape(batch)),
        output_(plan_.output_shape(batch)) {}

  float* input() { return input_.data(); }
  const float* output() const { return output_.data(); }

  void run() { plan_.run(input_.view(), output_.view()); }

 private:
  Plan plan_;
  Tensor<float> input_, output_;
};

// Reproducible images in [-1, 1] (the TensorFlow preprocessing range).
inline void fill_images(float* data, Index count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::generate(data, data + count, [&] { return dist(rng); });
}

}  // namespace mobilenet::peers
