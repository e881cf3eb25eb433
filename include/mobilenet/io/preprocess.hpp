// SPDX-License-Identifier: MIT
#pragma once
// How images must be prepared for a given set of weights. TensorFlow-trained weights (TF-slim,
// TFLite, Keras) expect RGB scaled to [-1, 1] after a central crop; PyTorch-trained weights
// expect ImageNet mean/std normalisation.

#include <array>

namespace mobilenet {
namespace io {

struct Preprocessing {
  enum class Mode {
    TensorFlow,  // central crop, bilinear resize, x / 127.5 - 1
    MeanStd,     // resize, centre crop, (x / 255 - mean) / std
  };
  Mode mode = Mode::TensorFlow;
  double central_fraction = 0.875;  // the share of height and of width kept by the crop
  std::array<float, 3> mean{{0.5f, 0.5f, 0.5f}};  // RGB, on the [0, 1] scale
  std::array<float, 3> std{{0.5f, 0.5f, 0.5f}};

  // TF-slim's evaluation preprocessing: keep the central 87.5%, resize, scale to [-1, 1]
  // (which is (x / 255 - 0.5) / 0.5).
  static Preprocessing tensorflow() { return Preprocessing{}; }
  // torchvision's ImageNet evaluation transform: resize the shorter side to R / 0.875, centre
  // crop R, normalise with the ImageNet mean and standard deviation.
  static Preprocessing torch() {
    Preprocessing p;
    p.mode = Mode::MeanStd;
    p.mean = {{0.485f, 0.456f, 0.406f}};
    p.std = {{0.229f, 0.224f, 0.225f}};
    return p;
  }
};

}  // namespace io
}  // namespace mobilenet
