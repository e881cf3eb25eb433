// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 in XNNPACK's quantized operators, built with its subgraph API as TFLite's
// XNNPACK delegate builds a quantized file: every convolution, the global average pool and the
// classifier in 8 bits, then the logits converted to float for the softmax. Written against
// Debian 12's libxnnpack-dev (0.0~git20220216), which offers two schemes:
//   Qu8: uint8 activations and per-tensor asymmetric uint8 weights (the official files' scheme)
//   Qc8: int8 activations and per-channel symmetric int8 weights (TFLite's full-integer scheme)
// The weights are a float network's (peer_network.hpp) quantized in that scheme; activations
// use the official files' ReLU6 range (scale 6/255), the input TFLite's 1/128.

#include <xnnpack.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "peer_network.hpp"
#include "xnnpack_mobilenet.hpp"

namespace mobilenet::peers {

enum class XnnQuantScheme { Qu8, Qc8 };

inline const char* xnn_quant_scheme_name(XnnQuantScheme s) { return s == XnnQuantScheme::Qu8 ? "qu8" : "qc8"; }

class XnnpackInt8MobileNet {
 public:
  // in: batch x R x R x Cin (NHWC, uint8 for Qu8, int8 for Qc8; real value = (q - zp) / 128)
  // out: batch x classes, float probabilities (or logits without a softmax)
  XnnpackInt8MobileNet(const FoldedNetwork& net, Index batch, int threads, XnnQuantScheme scheme)
      : batch_(batch), classes_(net.classes), scheme_(scheme),
        pool_(pthreadpool_create(static_cast<std::size_t>(threads)), &pthreadpool_destroy) {
    xnn_initialize_once();
    if (!pool_) throw std::runtime_error("pthreadpool_create failed");
    xnn_subgraph_t subgraph = nullptr;
    xnn_check(xnn_create_subgraph(/*external_value_ids=*/2, 0, &subgraph), "xnn_create_subgraph");
    std::unique_ptr<xnn_subgraph, decltype(&xnn_delete_subgraph)> owner(subgraph, &xnn_delete_subgraph);
    define(subgraph, net);
    xnn_runtime_t runtime = nullptr;
    xnn_check(xnn_create_runtime_v2(subgraph, pool_.get(), 0, &runtime), "xnn_create_runtime_v2");
    runtime_.reset(runtime);
    input_.assign(static_cast<std::size_t>(batch * net.resolution * net.resolution * net.in_channels) +
                      XNN_EXTRA_BYTES, static_cast<std::uint8_t>(zero_point(kInputZeroPoint)));
    output_.assign(static_cast<std::size_t>(batch * classes_), 0.0f);
    const xnn_external_value external[2] = {{kInputId, input_.data()}, {kOutputId, output_.data()}};
    xnn_check(xnn_setup_runtime(runtime_.get(), 2, external), "xnn_setup_runtime");
  }

  // The input's bytes: uint8 values for Qu8, int8 values (as bytes) for Qc8.
  std::uint8_t* input() { return input_.data(); }
  const float* output() const { return output_.data(); }
  Index batch() const { return batch_; }
  Index classes() const { return classes_; }
  XnnQuantScheme scheme() const { return scheme_; }

  // Fills the input with pseudo-random bytes (a fixed xorshift sequence).
  void fill_input(std::uint32_t seed) {
    for (std::uint8_t& b : input_) {
      seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
      b = static_cast<std::uint8_t>(seed >> 24);
    }
  }

  void run() { xnn_check(xnn_invoke_runtime(runtime_.get()), "xnn_invoke_runtime"); }

 private:
  static constexpr uint32_t kInputId = 0, kOutputId = 1;
  // Zero points in uint8 terms; Qc8's int8 zero points are these - 128.
  static constexpr int kInputZeroPoint = 128, kReluZeroPoint = 0, kLogitZeroPoint = 128;
  static constexpr float kInputScale = 1.0f / 128.0f, kReluScale = 6.0f / 255.0f, kLogitScale = 0.1f;

  int zero_point(int uint8_zero_point) const {
    return scheme_ == XnnQuantScheme::Qu8 ? uint8_zero_point : uint8_zero_point - 128;
  }
  xnn_datatype activation_type() const {
    return scheme_ == XnnQuantScheme::Qu8 ? xnn_datatype_quint8 : xnn_datatype_qint8;
  }

  uint32_t activation(xnn_subgraph_t subgraph, std::vector<size_t> dims, int uint8_zero_point, float scale,
                      uint32_t external_id = XNN_INVALID_VALUE_ID, uint32_t flags = 0) {
    uint32_t id = XNN_INVALID_VALUE_ID;
    xnn_check(xnn_define_quantized_tensor_value(subgraph, activation_type(), zero_point(uint8_zero_point), scale,
                                                dims.size(), dims.data(), nullptr, external_id, flags, &id),
              "activation tensor");
    return id;
  }

  // Quantized weights (per tensor for Qu8, per channel along `channel_dim` for Qc8) and the
  // int32 bias on scale input_scale * weight scale. `w` is in XNNPACK's layout already.
  struct QuantizedWeights {
    uint32_t weight, bias;
  };
  QuantizedWeights weights(xnn_subgraph_t subgraph, const std::vector<float>& w, std::vector<size_t> dims,
                           size_t channel_dim, const std::vector<float>& bias, float input_scale) {
    const size_t channels = dims[channel_dim];
    size_t inner = 1;
    for (size_t d = channel_dim + 1; d < dims.size(); ++d) inner *= dims[d];
    const auto channel_of = [&](size_t i) { return (i / inner) % channels; };
    bytes_.emplace_back(w.size());
    std::vector<std::uint8_t>& q = bytes_.back();
    ints_.emplace_back(channels);
    std::vector<std::int32_t>& b = ints_.back();
    uint32_t wid = XNN_INVALID_VALUE_ID, bid = XNN_INVALID_VALUE_ID;
    if (scheme_ == XnnQuantScheme::Qu8) {
      const float lo = std::min(0.0f, *std::min_element(w.begin(), w.end()));
      const float hi = std::max(0.0f, *std::max_element(w.begin(), w.end()));
      const float scale = std::max(hi - lo, 1e-6f) / 255.0f;
      const int zp = static_cast<int>(std::lround(-lo / scale));
      for (size_t i = 0; i < w.size(); ++i)
        q[i] = static_cast<std::uint8_t>(std::clamp<long>(std::lround(w[i] / scale) + zp, 0, 255));
      for (size_t c = 0; c < channels; ++c)
        b[c] = static_cast<std::int32_t>(std::lround(bias[c] / (input_scale * scale)));
      const size_t bias_dims[1] = {channels};
      xnn_check(xnn_define_quantized_tensor_value(subgraph, xnn_datatype_quint8, zp, scale, dims.size(),
                                                  dims.data(), q.data(), XNN_INVALID_VALUE_ID, 0, &wid),
                "qu8 weights");
      xnn_check(xnn_define_quantized_tensor_value(subgraph, xnn_datatype_qint32, 0, input_scale * scale, 1,
                                                  bias_dims, b.data(), XNN_INVALID_VALUE_ID, 0, &bid),
                "qu8 bias");
      return {wid, bid};
    }
    floats_.emplace_back(channels, 0.0f);
    floats_.emplace_back(channels, 0.0f);
    std::vector<float>& scales = floats_[floats_.size() - 2];
    std::vector<float>& bias_scales = floats_.back();
    for (size_t i = 0; i < w.size(); ++i) scales[channel_of(i)] = std::max(scales[channel_of(i)], std::fabs(w[i]));
    for (float& s : scales) s = std::max(s, 1e-6f) / 127.0f;
    for (size_t i = 0; i < w.size(); ++i)
      q[i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(
          std::clamp<long>(std::lround(w[i] / scales[channel_of(i)]), -127, 127)));
    for (size_t c = 0; c < channels; ++c) {
      bias_scales[c] = input_scale * scales[c];
      b[c] = static_cast<std::int32_t>(std::lround(bias[c] / bias_scales[c]));
    }
    const size_t bias_dims[1] = {channels};
    xnn_check(xnn_define_channelwise_quantized_tensor_value(subgraph, xnn_datatype_qcint8, scales.data(),
                                                            dims.size(), channel_dim, dims.data(), q.data(),
                                                            XNN_INVALID_VALUE_ID, 0, &wid),
              "qc8 weights");
    xnn_check(xnn_define_channelwise_quantized_tensor_value(subgraph, xnn_datatype_qcint32, bias_scales.data(), 1,
                                                            0, bias_dims, b.data(), XNN_INVALID_VALUE_ID, 0, &bid),
              "qc8 bias");
    return {wid, bid};
  }

  uint32_t define_conv(xnn_subgraph_t subgraph, const FoldedConv& conv, uint32_t input, float input_scale) {
    const auto n = static_cast<size_t>(batch_);
    const auto k = static_cast<uint32_t>(conv.kernel), s = static_cast<uint32_t>(conv.stride);
    const auto cin = static_cast<size_t>(conv.in_channels), cout = static_cast<size_t>(conv.out_channels);
    const auto top = static_cast<uint32_t>(conv.window.rows.pad_before);
    const auto bottom = static_cast<uint32_t>(conv.window.rows.pad_after);
    const auto left = static_cast<uint32_t>(conv.window.cols.pad_before);
    const auto right = static_cast<uint32_t>(conv.window.cols.pad_after);
    const uint32_t output = activation(subgraph, {n, static_cast<size_t>(conv.window.rows.out),
                                                  static_cast<size_t>(conv.window.cols.out), cout},
                                       kReluZeroPoint, kReluScale);
    if (conv.kind == FoldedConv::Kind::Depthwise) {
      const QuantizedWeights w = weights(subgraph, conv.weight, {1, k, k, cout}, 3, conv.bias, input_scale);
      xnn_check(xnn_define_depthwise_convolution_2d(subgraph, top, right, bottom, left, k, k, s, s, 1, 1, 1, cin,
                                                    0.0f, 6.0f, input, w.weight, w.bias, output, 0),
                conv.name);
    } else {
      const std::vector<float> ohwi = transpose(conv.weight, conv.kernel * conv.kernel * conv.in_channels,
                                                conv.out_channels);
      const QuantizedWeights w = weights(subgraph, ohwi, {cout, k, k, cin}, 0, conv.bias, input_scale);
      xnn_check(xnn_define_convolution_2d(subgraph, top, right, bottom, left, k, k, s, s, 1, 1, 1, cin, cout, 0.0f,
                                          6.0f, input, w.weight, w.bias, output, 0),
                conv.name);
    }
    return output;
  }

  void define(xnn_subgraph_t subgraph, const FoldedNetwork& net) {
    const auto n = static_cast<size_t>(batch_);
    const auto r = static_cast<size_t>(net.resolution);
    uint32_t x = activation(subgraph, {n, r, r, static_cast<size_t>(net.in_channels)}, kInputZeroPoint,
                            kInputScale, kInputId, XNN_VALUE_FLAG_EXTERNAL_INPUT);
    float scale = kInputScale;
    for (const FoldedConv& conv : net.convs) {
      x = define_conv(subgraph, conv, x, scale);
      scale = kReluScale;
    }
    const auto features = static_cast<size_t>(net.features), classes = static_cast<size_t>(classes_);
    // The pool keeps its input's parameters, as TFLite's quantized files have it.
    const uint32_t pooled = activation(subgraph, {n, 1, 1, features}, kReluZeroPoint, kReluScale);
    xnn_check(xnn_define_global_average_pooling_2d(subgraph, 0.0f, 6.0f, x, pooled, 0), "global average pooling");
    const QuantizedWeights w = weights(subgraph, transpose(net.classifier_weight, net.features, net.classes),
                                       {classes, 1, 1, features}, 0, net.classifier_bias, kReluScale);
    const uint32_t logits = activation(subgraph, {n, 1, 1, classes}, kLogitZeroPoint, kLogitScale);
    const float logit_min = -kLogitZeroPoint * kLogitScale, logit_max = (255 - kLogitZeroPoint) * kLogitScale;
    xnn_check(xnn_define_convolution_2d(subgraph, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, features, classes, logit_min,
                                        logit_max, pooled, w.weight, w.bias, logits, 0),
              "classifier");
    // Logits to float, then the softmax (or the float logits as the output).
    const size_t dims[4] = {n, 1, 1, classes};
    uint32_t real = XNN_INVALID_VALUE_ID;
    const bool softmax = net.softmax;
    xnn_check(xnn_define_tensor_value(subgraph, xnn_datatype_fp32, 4, dims, nullptr,
                                      softmax ? XNN_INVALID_VALUE_ID : kOutputId,
                                      softmax ? 0 : XNN_VALUE_FLAG_EXTERNAL_OUTPUT, &real),
              "float logits");
    xnn_check(xnn_define_convert(subgraph, logits, real, 0), "convert logits");
    if (softmax) {
      uint32_t probabilities = XNN_INVALID_VALUE_ID;
      xnn_check(xnn_define_tensor_value(subgraph, xnn_datatype_fp32, 4, dims, nullptr, kOutputId,
                                        XNN_VALUE_FLAG_EXTERNAL_OUTPUT, &probabilities),
                "probabilities");
      xnn_check(xnn_define_softmax(subgraph, real, probabilities, 0), "softmax");
    }
  }

  // Our IO (rows x cols) matrix as XNNPACK's OI (cols x rows).
  static std::vector<float> transpose(const std::vector<float>& io, Index rows, Index cols) {
    std::vector<float> oi(io.size());
    for (Index i = 0; i < rows; ++i)
      for (Index o = 0; o < cols; ++o) oi[static_cast<size_t>(o * rows + i)] = io[static_cast<size_t>(i * cols + o)];
    return oi;
  }

  struct RuntimeDeleter {
    void operator()(xnn_runtime* r) const { xnn_delete_runtime(r); }
  };

  Index batch_, classes_;
  XnnQuantScheme scheme_;
  std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)> pool_;
  // Static data must outlive the runtime. Vectors of vectors: inner buffers never move.
  std::vector<std::vector<std::uint8_t>> bytes_;
  std::vector<std::vector<std::int32_t>> ints_;
  std::vector<std::vector<float>> floats_;
  std::vector<std::uint8_t> input_;
  std::vector<float> output_;
  std::unique_ptr<xnn_runtime, RuntimeDeleter> runtime_;
};

}  // namespace mobilenet::peers
