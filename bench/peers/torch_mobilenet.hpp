// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 in PyTorch's C++ tensor library (ATen, Debian: libtorch-dev 1.13), run as a
// PyTorch user runs a model in eager mode: channels-last tensors, inference mode, conv2d with
// groups for the depthwise layers, in-place ReLU6 (hardtanh_). PyTorch pads symmetrically
// only, so where TF SAME padding is uneven (stride 2) the input is padded first, as ports of
// TensorFlow models to PyTorch do. Threads: ATen's OpenMP pool (at::set_num_threads).

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "peer_network.hpp"

namespace mobilenet::peers {

class TorchMobileNet {
 public:
  // in: batch x R x R x Cin (NHWC) -> out: batch x classes (probabilities if net.softmax)
  TorchMobileNet(const FoldedNetwork& net, Index batch, int threads)
      : threads_(threads), softmax_(net.softmax) {
    at::set_num_threads(threads_);  // before anything is prepared, as for oneDNN
    c10::InferenceMode inference;
    // Channels-last memory of an N x C x H x W tensor is NHWC: input() is our layout.
    input_ = at::zeros({batch, net.in_channels, net.resolution, net.resolution})
                 .contiguous(at::MemoryFormat::ChannelsLast);
    for (const FoldedConv& conv : net.convs) layers_.push_back(layer_of(conv));
    // The classifier: our features x classes (IO) as a K x C x 1 x 1 convolution.
    Layer head;
    head.weight = from(net.classifier_weight, {net.features, net.classes}).t().reshape(
        {net.classes, net.features, 1, 1});
    head.bias = from(net.classifier_bias, {net.classes});
    head_ = head;
    run();  // sizes output_
  }

  float* input() { return input_.data_ptr<float>(); }
  const float* output() const { return output_.data_ptr<float>(); }

  void run() {
    at::set_num_threads(threads_);
    c10::InferenceMode inference;
    at::Tensor x = input_;
    for (const Layer& layer : layers_) x = forward(layer, x);
    x = at::adaptive_avg_pool2d(x, {1, 1});
    x = forward(head_, x).flatten(1);
    output_ = (softmax_ ? at::softmax(x, 1) : x).contiguous();
  }

 private:
  struct Layer {
    at::Tensor weight, bias;
    std::vector<int64_t> pre_pad;  // left, right, top, bottom; empty when the padding is even
    int64_t stride = 1, padding_h = 0, padding_w = 0, groups = 1;
    bool relu = false, clamp = false;  // clamp: to [clamp_min, clamp_max], as nn.ReLU6 does
    float clamp_min = 0, clamp_max = 0;
  };

  static at::Tensor from(const std::vector<float>& values, std::vector<int64_t> sizes) {
    return at::from_blob(const_cast<float*>(values.data()), sizes).clone();
  }

  static Layer layer_of(const FoldedConv& conv) {
    Layer layer;
    const int64_t k = conv.kernel, i = conv.in_channels, o = conv.out_channels;
    if (conv.kind == FoldedConv::Kind::Depthwise) {
      layer.weight = from(conv.weight, {k, k, o}).permute({2, 0, 1}).unsqueeze(1);  // C x 1 x k x k
      layer.groups = o;
    } else {
      layer.weight = from(conv.weight, {k, k, i, o}).permute({3, 2, 0, 1});  // HWIO -> OIHW
    }
    layer.weight = layer.weight.contiguous(at::MemoryFormat::ChannelsLast);
    layer.bias = from(conv.bias, {o});
    layer.stride = conv.stride;
    const AxisWindow& rows = conv.window.rows;
    const AxisWindow& cols = conv.window.cols;
    if (rows.pad_before == rows.pad_after && cols.pad_before == cols.pad_after) {
      layer.padding_h = rows.pad_before, layer.padding_w = cols.pad_before;
    } else {
      layer.pre_pad = {cols.pad_before, cols.pad_after, rows.pad_before, rows.pad_after};
    }
    layer.clamp = std::isfinite(conv.output_min) && std::isfinite(conv.output_max);
    layer.relu = conv.output_min == 0.0f && !layer.clamp;
    layer.clamp_min = conv.output_min, layer.clamp_max = conv.output_max;
    return layer;
  }

  static at::Tensor forward(const Layer& layer, at::Tensor x) {
    if (!layer.pre_pad.empty()) x = at::constant_pad_nd(x, layer.pre_pad, 0);
    x = at::conv2d(x, layer.weight, layer.bias, {layer.stride, layer.stride},
                   {layer.padding_h, layer.padding_w}, {1, 1}, layer.groups);
    if (layer.clamp) at::hardtanh_(x, layer.clamp_min, layer.clamp_max);
    if (layer.relu) at::relu_(x);
    return x;
  }

  int threads_;
  bool softmax_;
  at::Tensor input_, output_;
  std::vector<Layer> layers_;
  Layer head_;
};

}  // namespace mobilenet::peers
