// SPDX-License-Identifier: MIT
#pragma once
// MobileNetV1 in oneDNN (Debian: libdnnl-dev 2.6), built as oneDNN's own CNN examples do:
// every convolution lets oneDNN choose its weight and activation layouts (format "any", so
// the blocked nChw16c-style layouts its AVX-512 kernels want), weights are reordered once at
// build time, the activation is a fused post-op, and consecutive layers share layouts so
// nothing is reordered between them. Threads come from oneDNN's OpenMP runtime.

#include <omp.h>

#include <dnnl.hpp>

#include <cmath>
#include <unordered_map>
#include <vector>

#include "peer_network.hpp"

namespace mobilenet::peers {

class OnednnMobileNet {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;

 public:
  // in: batch x R x R x Cin (NHWC) -> out: batch x classes (probabilities if net.softmax)
  OnednnMobileNet(const FoldedNetwork& net, Index batch, int threads)
      : threads_(threads), batch_(batch) {
    // oneDNN splits work among omp_get_max_threads() threads when it creates a primitive, so
    // the thread count must be set before, not only when running.
    omp_set_num_threads(threads_);
    const dnnl::memory::desc input_desc({batch, net.in_channels, net.resolution, net.resolution},
                                        dt::f32, tag::nhwc);
    input_ = dnnl::memory(input_desc, engine_);
    dnnl::memory x = input_;
    for (const FoldedConv& conv : net.convs) x = add_conv(conv, x, dnnl::memory::desc());

    const dnnl::memory::desc any_pooled({batch, net.features, 1, 1}, dt::f32, tag::any);
    const dims spatial = {x.get_desc().dims()[2], x.get_desc().dims()[3]};
    const dnnl::pooling_forward::primitive_desc pool_pd(
        {dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_exclude_padding, x.get_desc(),
         any_pooled, {1, 1}, spatial, {0, 0}, {0, 0}},
        engine_);
    dnnl::memory pooled(pool_pd.dst_desc(), engine_);
    add_step(dnnl::pooling_forward(pool_pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, pooled}});

    // The classifier as a 1x1 convolution into plain N x K (nhwc at 1 x 1), where softmax runs.
    FoldedConv head;
    head.name = "classifier";
    head.kernel = head.stride = 1;
    head.in_channels = net.features;
    head.out_channels = net.classes;
    head.window = window_2d(1, 1, 1, 1, Padding::valid());
    head.weight = net.classifier_weight;
    head.bias = net.classifier_bias;
    const dnnl::memory::desc plain({batch, net.classes, 1, 1}, dt::f32, tag::nhwc);
    dnnl::memory logits = add_conv(head, pooled, plain);
    if (net.softmax) {
      output_ = dnnl::memory(plain, engine_);
      const dnnl::softmax_forward::primitive_desc softmax_pd(
          {dnnl::prop_kind::forward_inference, plain, /*axis=*/1}, engine_);
      add_step(dnnl::softmax_forward(softmax_pd), {{DNNL_ARG_SRC, logits}, {DNNL_ARG_DST, output_}});
    } else {
      output_ = logits;
    }
  }

  float* input() { return static_cast<float*>(input_.get_data_handle()); }
  const float* output() const { return static_cast<const float*>(output_.get_data_handle()); }

  void run() {
    omp_set_num_threads(threads_);
    for (Step& step : steps_) step.primitive.execute(stream_, step.args);
    stream_.wait();
  }

 private:
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, dnnl::memory> args;
  };
  void add_step(dnnl::primitive p, std::unordered_map<int, dnnl::memory> args) {
    steps_.push_back({std::move(p), std::move(args)});
  }

  // Our weights as oneDNN sees them, without a copy of our own: HWIO (and HWC, IO) described by
  // strides over oneDNN's logical O, I, H, W (grouped: G, O, I, H, W) dimensions.
  dnnl::memory user_weights(const FoldedConv& conv) {
    const Index k = conv.kernel, o = conv.out_channels, i = conv.in_channels;
    void* data = const_cast<float*>(conv.weight.data());  // only read, by the reorder below
    if (conv.kind == FoldedConv::Kind::Depthwise)
      return dnnl::memory({{o, 1, 1, k, k}, dt::f32, dims{1, o, o, k * o, o}}, engine_, data);
    return dnnl::memory({{o, i, k, k}, dt::f32, dims{1, o, k * i * o, i * o}}, engine_, data);
  }

  // Adds conv (+ clamp as a post-op) reading x; its output layout is oneDNN's choice (blocked
  // by 8 without AVX-512) unless `dst` is given, which a reorder after the convolution then
  // fills. Returns the output memory.
  dnnl::memory add_conv(const FoldedConv& conv, const dnnl::memory& x, dnnl::memory::desc dst) {
    const dims out_dims = {batch_, conv.out_channels, conv.window.rows.out, conv.window.cols.out};
    // Blocked by the vector width: with `any`, oneDNN 2.6 keeps the input's nhwc, for which its
    // AVX2 convolutions fall back to the reference one.
    const bool avx512 = mobilenet::kernels::best_isa() == mobilenet::kernels::Isa::Avx512;
    if (dst.is_zero()) dst = dnnl::memory::desc(out_dims, dt::f32, avx512 ? tag::any : tag::nChw8c);
    dnnl::memory user_w = user_weights(conv);
    const dnnl::memory::desc any_w(user_w.get_desc().dims(), dt::f32, tag::any);
    const dnnl::memory bias({{conv.out_channels}, dt::f32, tag::x}, engine_);
    std::copy(conv.bias.begin(), conv.bias.end(), static_cast<float*>(bias.get_data_handle()));

    dnnl::post_ops ops;
    if (std::isfinite(conv.output_min)) {
      // ReLU6 as bounded_relu: oneDNN 2.6's AVX2 convolutions take it as a post-op, but not clip
      // (with which they fall back to the reference convolution).
      if (conv.output_min == 0.0f && std::isfinite(conv.output_max))
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_bounded_relu, conv.output_max, 0.0f);
      else if (std::isfinite(conv.output_max))
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, conv.output_min, conv.output_max);
      else if (conv.output_min == 0.0f)
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    // The network's input (NHWC) and the classifier's output (plain) in the layouts oneDNN's
    // fast convolutions take, with a reorder from and to the user's: for NHWC in and plain out
    // oneDNN 2.6 picks its reference convolution on AVX2.
    const bool from_user = x.get_data_handle() == input_.get_data_handle();
    const dnnl::memory::desc src_desc =
        from_user ? dnnl::memory::desc(x.get_desc().dims(), dt::f32, tag::any) : x.get_desc();
    const dnnl::memory::desc wanted = dst;
    if (!wanted.is_zero()) dst = dnnl::memory::desc(wanted.dims(), dt::f32, tag::any);
    const dnnl::convolution_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_desc, any_w,
         bias.get_desc(), dst, {conv.stride, conv.stride},
         {conv.window.rows.pad_before, conv.window.cols.pad_before},
         {conv.window.rows.pad_after, conv.window.cols.pad_after}},
        attr, engine_);
    dnnl::memory weights(pd.weights_desc(), engine_);
    dnnl::reorder(user_w, weights).execute(stream_, user_w, weights);
    stream_.wait();
    dnnl::memory src = x;
    if (pd.src_desc() != x.get_desc()) {
      src = dnnl::memory(pd.src_desc(), engine_);
      add_step(dnnl::reorder(x, src), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, src}});
    }
    dnnl::memory out(pd.dst_desc(), engine_);
    add_step(dnnl::convolution_forward(pd),
             {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, out}});
    if (wanted.is_zero() || pd.dst_desc() == wanted) return out;
    dnnl::memory plain(wanted, engine_);
    add_step(dnnl::reorder(out, plain), {{DNNL_ARG_FROM, out}, {DNNL_ARG_TO, plain}});
    return plain;
  }

  int threads_;
  Index batch_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  std::vector<Step> steps_;
  dnnl::memory input_, output_;
};

}  // namespace mobilenet::peers
