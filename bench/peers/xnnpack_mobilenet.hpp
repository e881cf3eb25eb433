// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 in XNNPACK (the engine under TensorFlow Lite), built with its subgraph API as
// the TFLite delegate does: one Runtime per batch size and thread count, with XNNPACK's own
// weight packing and memory planning. Written against Debian 12's libxnnpack-dev
// (0.0~git20220216).

#include <xnnpack.h>
#include <pthreadpool.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "peer_network.hpp"

namespace mobilenet::peers {

inline void xnn_check(xnn_status status, const std::string& what) {
  if (status != xnn_status_success)
    throw std::runtime_error("XNNPACK: " + what + " failed with status " +
                             std::to_string(static_cast<int>(status)));
}

// XNNPACK keeps global state; initialise it once per process (the call is idempotent).
inline void xnn_initialize_once() {
  static const xnn_status status = xnn_initialize(nullptr);
  xnn_check(status, "xnn_initialize");
}

class XnnpackMobileNet {
 public:
  // in: batch x R x R x Cin (NHWC) -> out: batch x classes (probabilities if net.softmax)
  XnnpackMobileNet(const FoldedNetwork& net, Index batch, int threads)
      : batch_(batch), classes_(net.classes),
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
    // XNNPACK may read XNN_EXTRA_BYTES past the end of its input.
    input_.assign(static_cast<std::size_t>(batch * net.resolution * net.resolution * net.in_channels) +
                      XNN_EXTRA_BYTES / sizeof(float), 0.0f);
    output_.assign(static_cast<std::size_t>(batch * classes_), 0.0f);
    const xnn_external_value external[2] = {{kInputId, input_.data()}, {kOutputId, output_.data()}};
    xnn_check(xnn_setup_runtime(runtime_.get(), 2, external), "xnn_setup_runtime");
  }

  float* input() { return input_.data(); }
  const float* output() const { return output_.data(); }
  Index batch() const { return batch_; }
  Index classes() const { return classes_; }

  // Runs the whole network on input() into output().
  void run() { xnn_check(xnn_invoke_runtime(runtime_.get()), "xnn_invoke_runtime"); }

 private:
  static constexpr uint32_t kInputId = 0, kOutputId = 1;

  uint32_t tensor(xnn_subgraph_t subgraph, std::vector<size_t> dims, const float* data = nullptr,
                  uint32_t external_id = XNN_INVALID_VALUE_ID, uint32_t flags = 0) {
    uint32_t id = XNN_INVALID_VALUE_ID;
    xnn_check(xnn_define_tensor_value(subgraph, xnn_datatype_fp32, dims.size(), dims.data(), data,
                                      external_id, flags, &id),
              "xnn_define_tensor_value");
    return id;
  }
  // Static data must outlive the runtime: keep it here.
  const float* keep(std::vector<float> values) {
    constants_.push_back(std::move(values));
    return constants_.back().data();
  }

  void define(xnn_subgraph_t subgraph, const FoldedNetwork& net) {
    const auto n = static_cast<size_t>(batch_);
    const auto r = static_cast<size_t>(net.resolution);
    uint32_t x = tensor(subgraph, {n, r, r, static_cast<size_t>(net.in_channels)}, nullptr, kInputId,
                        XNN_VALUE_FLAG_EXTERNAL_INPUT);
    for (const FoldedConv& conv : net.convs) x = define_conv(subgraph, conv, x);

    const auto features = static_cast<size_t>(net.features), classes = static_cast<size_t>(classes_);
    const float inf = std::numeric_limits<float>::infinity();
    const uint32_t pooled = tensor(subgraph, {n, 1, 1, features});
    xnn_check(xnn_define_global_average_pooling_2d(subgraph, -inf, inf, x, pooled, 0),
              "global average pooling");
    // The classifier as TFLite runs it: a 1x1 convolution, OHWI weights.
    const float* weight = keep(transpose(net.classifier_weight, net.features, net.classes));
    const uint32_t w = tensor(subgraph, {classes, 1, 1, features}, weight);
    const uint32_t b = tensor(subgraph, {classes}, keep(net.classifier_bias));
    const bool softmax = net.softmax;
    const uint32_t logits = softmax ? tensor(subgraph, {n, 1, 1, classes})
                                    : tensor(subgraph, {n, 1, 1, classes}, nullptr, kOutputId,
                                             XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
    xnn_check(xnn_define_convolution_2d(subgraph, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, features, classes,
                                        -inf, inf, pooled, w, b, logits, 0),
              "classifier");
    if (softmax) {
      const uint32_t probabilities = tensor(subgraph, {n, 1, 1, classes}, nullptr, kOutputId,
                                            XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
      xnn_check(xnn_define_softmax(subgraph, logits, probabilities, 0), "softmax");
    }
  }

  // Our IO (rows x cols) matrix as XNNPACK's OI (cols x rows).
  static std::vector<float> transpose(const std::vector<float>& io, Index rows, Index cols) {
    std::vector<float> oi(io.size());
    for (Index i = 0; i < rows; ++i)
      for (Index o = 0; o < cols; ++o)
        oi[static_cast<size_t>(o * rows + i)] = io[static_cast<size_t>(i * cols + o)];
    return oi;
  }

  uint32_t define_conv(xnn_subgraph_t subgraph, const FoldedConv& conv, uint32_t input) {
    const auto n = static_cast<size_t>(batch_);
    const auto k = static_cast<uint32_t>(conv.kernel), s = static_cast<uint32_t>(conv.stride);
    const auto cin = static_cast<size_t>(conv.in_channels), cout = static_cast<size_t>(conv.out_channels);
    // Explicit padding from our padding maths, so XNNPACK sees exactly our borders (TF SAME
    // at stride 2 on an even size: 0 top/left, 1 bottom/right).
    const auto top = static_cast<uint32_t>(conv.window.rows.pad_before);
    const auto bottom = static_cast<uint32_t>(conv.window.rows.pad_after);
    const auto left = static_cast<uint32_t>(conv.window.cols.pad_before);
    const auto right = static_cast<uint32_t>(conv.window.cols.pad_after);
    const uint32_t output = tensor(subgraph, {n, static_cast<size_t>(conv.window.rows.out),
                                              static_cast<size_t>(conv.window.cols.out), cout});
    const uint32_t bias = tensor(subgraph, {cout}, keep(conv.bias));
    if (conv.kind == FoldedConv::Kind::Depthwise) {
      // Our HWC weights are XNNPACK's [1, kh, kw, C] as they are.
      const uint32_t weight = tensor(subgraph, {1, k, k, cout}, keep(conv.weight));
      xnn_check(xnn_define_depthwise_convolution_2d(subgraph, top, right, bottom, left, k, k, s, s, 1, 1,
                                                    /*depth_multiplier=*/1, cin, conv.output_min,
                                                    conv.output_max, input, weight, bias, output, 0),
                conv.name);
    } else {
      // HWIO -> OHWI: a (k*k*Cin) x Cout matrix transposed.
      const float* ohwi = keep(transpose(conv.weight, conv.kernel * conv.kernel * conv.in_channels,
                                         conv.out_channels));
      const uint32_t weight = tensor(subgraph, {cout, k, k, cin}, ohwi);
      xnn_check(xnn_define_convolution_2d(subgraph, top, right, bottom, left, k, k, s, s, 1, 1,
                                          /*groups=*/1, cin, cout, conv.output_min, conv.output_max,
                                          input, weight, bias, output, 0),
                conv.name);
    }
    return output;
  }

  struct RuntimeDeleter {
    void operator()(xnn_runtime* r) const { xnn_delete_runtime(r); }
  };

  Index batch_, classes_;
  std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)> pool_;
  std::vector<std::vector<float>> constants_;
  std::vector<float> input_, output_;
  std::unique_ptr<xnn_runtime, RuntimeDeleter> runtime_;
};

}  // namespace mobilenet::peers
