// SPDX-License-Identifier: MIT
#pragma once
// The 8-bit execution plan: a quantized MobileNetV1 compiled once for a batch and a thread
// count, run in integers exactly as TensorFlow Lite's builtin kernels compute it.
//
//   auto file = mobilenet::io::load_tflite_quantized("mobilenet_v1_0.75_192_quant.tflite");
//   mobilenet::QuantizedPlan plan(file.model, mobilenet::PlanOptions().with_threads(2));
//   plan.run(pixels, 1, scores);                  // raw uint8 (or int8) in and out; allocates nothing
//   mobilenet::Tensor<float> p = plan.predict(images);   // float in, dequantized out
//
// The parts: plan/int8_layout.hpp (every decision as a value), plan/int8_steps.hpp (one step
// type per kind of layer), kernels/int8/ (the kernels, each with a reference twin). Results
// depend only on the model: every instruction set, thread count, batch and tuning gives the
// same bytes.

#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/quantization.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/int8/isa.hpp"
#include "mobilenet/model/plan/int8_layout.hpp"
#include "mobilenet/model/plan/int8_steps.hpp"
#include "mobilenet/model/plan/options.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"
#include "mobilenet/runtime/huge_page_buffer.hpp"
#include "mobilenet/runtime/thread_pool.hpp"
#include "mobilenet/runtime/work_sharing.hpp"

namespace mobilenet {

namespace detail {

inline kernels::Int8GemmLayer int8_gemm_layer(const QuantizedConv& conv) {
  kernels::Int8GemmLayer l;
  l.weights = conv.weights.data();
  l.bias = conv.bias.data();
  l.k = conv.kernel * conv.kernel * conv.in_channels;
  l.n = conv.out_channels;
  l.weight_zero_point = conv.weight_zero_point;
  l.input_zero_point = conv.input.zero_point;
  l.requantization = conv.requantization.data();
  l.output_zero_point = conv.output.zero_point;
  l.range = conv.range;
  l.rounding = conv.rounding;
  return l;
}

inline kernels::DepthwiseInt8Layer int8_depthwise_layer(const QuantizedConv& conv) {
  kernels::DepthwiseInt8Layer l;
  l.weights = conv.weights.data();
  l.bias = conv.bias.data();
  l.channels = conv.out_channels;
  l.weight_zero_point = conv.weight_zero_point;
  l.input_zero_point = conv.input.zero_point;
  l.requantization = conv.requantization.data();
  l.output_zero_point = conv.output.zero_point;
  l.range = conv.range;
  return l;
}

// The stem's weights with each output's 9 x C_in taps padded to int8_stem_depth (the padding
// weights are the weight zero point: they add nothing).
inline kernels::PackedInt8GemmWeights packed_stem(const QuantizedConv& stem, Index in_channels, kernels::Int8Isa isa) {
  const Index k = 9 * in_channels, depth = int8_stem_depth(in_channels);
  std::vector<std::int8_t> padded(static_cast<std::size_t>(stem.out_channels * depth),
                                  static_cast<std::int8_t>(stem.weight_zero_point));
  for (Index o = 0; o < stem.out_channels; ++o)
    std::copy_n(stem.weights.begin() + o * k, k, padded.begin() + o * depth);
  kernels::Int8GemmLayer layer = int8_gemm_layer(stem);
  layer.weights = padded.data();
  layer.k = depth;
  return kernels::PackedInt8GemmWeights(layer, isa);
}

// The 8-bit instruction set for a plan whose float options ask for `isa`: the fastest this
// CPU runs within that family.
inline kernels::Int8Isa int8_isa_for(kernels::Isa isa) {
  kernels::Int8Isa best = kernels::Int8Isa::Generic;
  for (kernels::Int8Isa candidate : kernels::runnable_int8_isas())
    if (static_cast<int>(kernels::int8_isa_family(candidate)) <= static_cast<int>(isa)) best = candidate;
  return best;
}

// Throws ConfigError unless the model's layers fit together (sizes of weights, biases and
// requantizations; a model from load_tflite_quantized always does).
inline void check_quantized_model(const QuantizedMobileNetV1& m) {
  auto check = [&](const QuantizedConv& conv, Index weights) {
    const auto outputs = static_cast<std::size_t>(conv.out_channels);
    if (conv.out_channels < 1 || conv.weights.size() != static_cast<std::size_t>(weights) ||
        conv.bias.size() != outputs || conv.requantization.size() != outputs)
      throw ConfigError(concat("QuantizedPlan: layer '", conv.name, "' has ", conv.weights.size(), " weights, ",
                               conv.bias.size(), " biases and ", conv.requantization.size(),
                               " requantizations; expected ", weights, ", ", outputs, " and ", outputs));
  };
  check(m.stem, m.stem.out_channels * 9 * m.config.in_channels);
  Index channels = m.stem.out_channels;
  for (const QuantizedDSConv& b : m.blocks) {
    if (b.depthwise.in_channels != channels || b.pointwise.in_channels != channels)
      throw ConfigError(concat("QuantizedPlan: block '", b.depthwise.name, "' reads ", b.depthwise.in_channels,
                               " channels where the layer before gives ", channels));
    check(b.depthwise, 9 * channels);
    if (b.depthwise.rounding != Rounding::Double)
      throw ConfigError(concat("QuantizedPlan: depthwise layer '", b.depthwise.name,
                               "' asks for single rounding; TFLite's depthwise kernels round twice"));
    check(b.pointwise, b.pointwise.out_channels * channels);
    channels = b.pointwise.out_channels;
  }
  if (m.classifier) {
    if (m.classifier->in_channels != channels)
      throw ConfigError(concat("QuantizedPlan: the classifier reads ", m.classifier->in_channels,
                               " features, the pool gives ", channels));
    check(*m.classifier, m.classifier->out_channels * channels);
  }
  if (m.softmax && !m.classifier) throw ConfigError("QuantizedPlan: a softmax without a classifier");
}

}  // namespace detail

class QuantizedPlan {
 public:
  // Throws ConfigError for options it cannot honour or a model whose layers do not fit.
  explicit QuantizedPlan(const QuantizedMobileNetV1& model, const PlanOptions& options = {})
      : io_type_(model.io_type), input_params_(model.input_params()), output_params_(model.output_params()) {
    detail::check_quantized_model(model);
    const PlanOptions resolved = detail::resolved_plan_options(options);
    if (!kernels::isa_supported(resolved.isa))
      throw ConfigError(detail::concat("QuantizedPlan: this machine cannot run instruction set ",
                                       kernels::isa_name(resolved.isa)));
    isa_ = detail::int8_isa_for(resolved.isa);
    build(model, resolved);
    pool_ = std::make_shared<runtime::ThreadPool>(layout_.options.threads);
    arena_ = runtime::HugePageBuffer(static_cast<std::size_t>((layout_.arena.bytes + 3) / 4));
    counters_ = std::make_unique<runtime::GuidedCounter[]>(2 * steps_.size() * std::size_t(batch()));
  }

  QuantizedPlan(const QuantizedPlan&) = delete;
  QuantizedPlan& operator=(const QuantizedPlan&) = delete;

  // N x R x R x C_in for N <= batch, and N x classes (or N x features for a backbone).
  Shape input_shape(Index batch = 1) const {
    const Shape& in = layout_.steps.front().io.in;
    return Shape(batch, in.h, in.w, in.c);
  }
  Shape output_shape(Index batch = 1) const { return Shape(batch, 1, 1, output_size_); }
  Index batch() const { return layout_.options.batch; }
  int threads() const { return layout_.options.threads; }
  kernels::Int8Isa isa() const { return isa_; }
  // "int8": every layer runs in 8-bit integers.
  const char* precision() const { return "int8"; }
  // The element type of input and output (the file's): uint8, or int8 stored as its bytes.
  QuantType io_type() const { return io_type_; }
  QuantParams input_params() const { return input_params_; }
  QuantParams output_params() const { return output_params_; }
  const Int8PlanLayout& layout() const { return layout_; }
  // Bytes of the packed weights (8-bit weights, int32 biases and per-channel requantization).
  Index weight_bytes() const { return weight_bytes_; }
  // Bytes of the preallocated activations and scratch.
  Index arena_bytes() const { return layout_.arena.bytes; }
  std::string describe() const;

  // `images` x input_shape() bytes in the file's type -> `images` x output_size bytes.
  // Allocates nothing (error messages are built only when thrown).
  void run(const std::uint8_t* input, Index images, std::uint8_t* output) {
    if (images < 1 || images > batch())
      throw ShapeError(detail::concat("QuantizedPlan: run on ", images, " images; this plan takes 1 to ", batch()));
    if (!input || !output) throw ShapeError("QuantizedPlan: run needs input and output buffers");
    std::lock_guard<std::mutex> lock(run_mutex_);
    last_input_ = input, last_images_ = images, last_output_ = output;
    Int8StepContext c = context(input, images, output);
    for (std::size_t i = 0; i < steps_.size(); ++i) reset_counters(c, i);
    const std::size_t per_image = layout_.per_image_steps;
    auto job = [this, &c, per_image, images](int thread) {
      for (Index image = 0; image < images; ++image)
        for (std::size_t i = 0; i < per_image; ++i) {
          run_int8_plan_step(steps_[i], c, thread, image, image + 1);
          pool_->barrier();
        }
      for (std::size_t i = per_image; i < steps_.size(); ++i) {
        run_int8_plan_step(steps_[i], c, thread, 0, images);
        if (i + 1 < steps_.size()) pool_->barrier();
      }
    };
    pool_->run(job);
  }

  // What each step is, for profiling (bench/bench_int8_steps): multiply-adds for a batch of
  // `batch` images.
  struct StepInfo {
    std::string name;
    StepKind kind = StepKind::Stem;
    Index multiply_adds = 0;
  };
  std::vector<StepInfo> step_info(Index batch = 1) const {
    std::vector<StepInfo> info;
    for (const Int8StepLayout& s : layout_.steps) {
      StepInfo i{s.name, s.kind, batch * s.io.out.h * s.io.out.w * s.gemm_k * s.gemm_n};
      if (s.kind == StepKind::DSConv) i.multiply_adds += batch * s.io.out.h * s.io.out.w * s.io.in.c * 9;
      info.push_back(i);
    }
    return info;
  }

  // Runs step `index` alone on all threads over the tensors of the last run() (which must have
  // happened, with `images` images): for timing one step in place.
  void run_step(std::size_t index) {
    if (index >= layout_.steps.size() || !last_input_)
      throw ConfigError(detail::concat("QuantizedPlan: run_step(", index, ") needs a step index below ",
                                       layout_.steps.size(), " and a run() before it"));
    std::lock_guard<std::mutex> lock(run_mutex_);
    Int8StepContext c = context(last_input_, last_images_, last_output_);
    reset_counters(c, index);
    const bool per_image = index < layout_.per_image_steps;
    auto job = [&](int thread) {
      if (!per_image) return run_int8_plan_step(steps_[index], c, thread, 0, last_images_);
      for (Index image = 0; image < last_images_; ++image) {
        run_int8_plan_step(steps_[index], c, thread, image, image + 1);
        if (image + 1 < last_images_) pool_->barrier();
      }
    };
    pool_->run(job);
  }

  // The same on whole images (input_shape(N).size() bytes, N <= batch), allocating the output.
  std::vector<std::uint8_t> run(const std::vector<std::uint8_t>& images) {
    const Index per_image = input_shape(1).size();
    const auto n = static_cast<Index>(images.size()) / per_image;
    if (n * per_image != static_cast<Index>(images.size()) || n < 1)
      throw ShapeError(detail::concat("QuantizedPlan: ", images.size(), " input bytes are not whole images of ",
                                      per_image, " bytes (", input_shape(1).str(), ")"));
    std::vector<std::uint8_t> out(static_cast<std::size_t>(n * output_size_));
    run(images.data(), n, out.data());
    return out;
  }

  // Float images (the model's real input values, e.g. [-1, 1]) quantized with the input's
  // parameters; returns the output dequantized (probabilities, logits or features).
  Tensor<float> predict(const Tensor<float>& images) {
    const Shape& s = images.shape();
    if (s != input_shape(s.n) || s.n < 1 || s.n > batch())
      throw ShapeError(detail::concat("QuantizedPlan: expects images ", input_shape(batch()).str(),
                                      " with N from 1 to ", batch(), ", got ", s.str()));
    std::vector<std::uint8_t> in(static_cast<std::size_t>(s.size())), out(static_cast<std::size_t>(s.n * output_size_));
    quantize_input(images.data(), s.size(), in.data());
    run(in.data(), s.n, out.data());
    Tensor<float> result(output_shape(s.n));
    dequantize_output(out.data(), s.n * output_size_, result.data());
    return result;
  }

  // Real values to the input's bytes, and output bytes to real values (quantize_values,
  // dequantize_values with the input's and output's parameters).
  void quantize_input(const float* values, Index count, std::uint8_t* bytes) const {
    quantize_values(values, count, input_params_, io_type_, bytes);
  }
  void dequantize_output(const std::uint8_t* bytes, Index count, float* values) const {
    dequantize_values(bytes, count, output_params_, io_type_, values);
  }

 private:
  void build(const QuantizedMobileNetV1& m, const PlanOptions& options) {
    // Pack the GEMMs first: the layout splits them by their panels.
    std::vector<kernels::PackedInt8GemmWeights> pointwise;
    kernels::PackedInt8GemmWeights stem = detail::packed_stem(m.stem, m.config.in_channels, isa_);
    for (const QuantizedDSConv& b : m.blocks) pointwise.emplace_back(detail::int8_gemm_layer(b.pointwise), isa_);
    layout_ = int8_plan_layout(m, options, stem.panel_width());
    output_size_ = m.output_size();
    const bool flip = m.io_type == QuantType::Int8;
    weight_bytes_ = Index(stem.bytes());
    for (std::size_t i = 0; i < layout_.steps.size(); ++i) {
      const Int8StepLayout& s = layout_.steps[i];
      switch (s.kind) {
        case StepKind::Stem: {
          const auto pad = static_cast<std::uint8_t>(m.to_file(static_cast<std::uint8_t>(m.stem.input.zero_point)));
          const bool vbmi = isa_ == kernels::Int8Isa::Avx512Vnni && kernels::im2col_stem_avx512_supported() &&
                            kernels::im2col_stem_avx512_applies(s.io.in, s.window, stem.k());
          steps_.push_back(Int8StemStep{i, s.io, s.window, s.band_rows, pad, flip, std::move(stem), vbmi});
          break;
        }
        case StepKind::DSConv: {
          const QuantizedDSConv& b = m.blocks[i - 1];
          Int8DSConvStep step;
          step.index = i, step.io = s.io, step.window = s.window;
          step.band_rows = s.band_rows, step.mid_stride = s.mid_stride;
          step.split_panels = s.sharing == StepSharing::SplitPanels;
          step.depthwise = kernels::PackedDepthwiseInt8Weights(detail::int8_depthwise_layer(b.depthwise), isa_);
          step.pointwise = std::move(pointwise[i - 1]);
          weight_bytes_ += Index(step.depthwise.bytes() + step.pointwise.bytes());
          steps_.push_back(std::move(step));
          break;
        }
        case StepKind::Pool: steps_.push_back(Int8PoolStep{s.io, QuantRange{0, 255}, flip}); break;
        case StepKind::Classifier: {
          kernels::PackedInt8GemmWeights head(detail::int8_gemm_layer(*m.classifier), isa_);
          weight_bytes_ += Index(head.bytes());
          steps_.push_back(Int8ClassifierStep{i, s.io, std::move(head)});
          break;
        }
        case StepKind::Softmax: {
          const QuantizedSoftmax& sm = *m.softmax;
          steps_.push_back(Int8SoftmaxStep{
              s.io, kernels::SoftmaxTable(sm.input.scale, sm.beta, sm.output.scale, sm.output.zero_point)});
          break;
        }
      }
    }
    StepIo out;
    out.from = layout_.steps.back().io.to;
    out.out_image = output_size_;
    steps_.push_back(Int8OutputStep{out, flip});
  }

  // Every work counter of step `index` (each image, both phases), before it runs.
  void reset_counters(const Int8StepContext& c, std::size_t index) const {
    for (Index image = 0; image < batch(); ++image)
      for (int phase = 0; phase < 2; ++phase) c.counter(index, image, phase).reset();
  }

  Int8StepContext context(const std::uint8_t* input, Index images, std::uint8_t* output) {
    Int8StepContext c;
    c.arena = reinterpret_cast<std::uint8_t*>(arena_.data());
    c.arena_layout = layout_.arena;
    c.input = input, c.output = output;
    c.batch = images;
    c.threads = pool_->threads();
    c.pool = pool_.get();
    c.counters = counters_.get();
    c.max_batch = batch();
    return c;
  }

  QuantType io_type_ = QuantType::UInt8;
  QuantParams input_params_, output_params_;  // file domain
  kernels::Int8Isa isa_ = kernels::Int8Isa::Generic;
  Int8PlanLayout layout_;
  std::vector<Int8PlanStep> steps_;
  Index output_size_ = 0;
  Index weight_bytes_ = 0;
  std::shared_ptr<runtime::ThreadPool> pool_;
  runtime::HugePageBuffer arena_;
  std::unique_ptr<runtime::GuidedCounter[]> counters_;
  std::mutex run_mutex_;
  // The last run's tensors, for run_step.
  const std::uint8_t* last_input_ = nullptr;
  Index last_images_ = 0;
  std::uint8_t* last_output_ = nullptr;
};

inline std::string QuantizedPlan::describe() const {
  std::ostringstream os;
  os << "QuantizedPlan: int8 on " << kernels::int8_isa_name(isa_) << ", batch " << batch() << ", " << threads()
     << " thread(s); " << quant_type_name(io_type()) << " input and output\n"
     << "  weights " << weight_bytes_ << " bytes, arena " << arena_bytes() << " bytes\n";
  for (const Int8StepLayout& s : layout_.steps) {
    os << "  " << s.name << ": " << s.io.in.str() << " -> " << s.io.out.str();
    if (s.kind == StepKind::Stem || s.kind == StepKind::DSConv)
      os << (s.sharing == StepSharing::SplitPanels ? ", split panels" : ", bands of ") ;
    if (s.sharing == StepSharing::Bands) os << s.band_rows << " rows";
    os << '\n';
  }
  return os.str();
}

}  // namespace mobilenet
