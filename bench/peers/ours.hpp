// SPDX-License-Identifier: MIT
#pragma once
// The "ours" side of the peer benchmark, behind one small class so that moving it to a faster
// public path (the execution plan, when it lands) is an edit here only.
//
// Path used now: MobileNetV1::predict with a reused Workspace (no allocation per call). Its
// pointwise layers are Eigen matrix products; with OpenMP, Eigen splits each product over
// `threads` cores (the depthwise layers stay on one core).

#include <algorithm>
#include <random>

#include <mobilenet/mobilenet.hpp>

#if defined(_OPENMP)
#include <Eigen/Core>
#endif

namespace mobilenet::peers {

inline const char* ours_path_name() {
#if defined(_OPENMP)
  return "MobileNetV1::predict + Workspace (Eigen GEMM, OpenMP threads)";
#else
  return "MobileNetV1::predict + Workspace (single thread: built without OpenMP)";
#endif
}

class OursMobileNet {
 public:
  // in: batch x R x R x Cin -> out: batch x 1 x 1 x classes
  OursMobileNet(const MobileNetV1<float>& model, Index batch, int threads)
      : model_(model), threads_(threads), input_(model.input_shape(batch)),
        output_(model.output_shape(batch)) {
    run();  // sizes the workspace, so timed runs allocate nothing
  }

  float* input() { return input_.data(); }
  const float* output() const { return output_.data(); }

  void run() {
#if defined(_OPENMP)
    Eigen::setNbThreads(threads_);
#endif
    model_.predict(input_.view(), output_.view(), workspace_);
  }

 private:
  const MobileNetV1<float>& model_;
  int threads_;
  Tensor<float> input_, output_;
  Workspace<float> workspace_;
};

// Reproducible images in [-1, 1] (the TensorFlow preprocessing range).
inline void fill_images(float* data, Index count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::generate(data, data + count, [&] { return dist(rng); });
}

}  // namespace mobilenet::peers
