// SPDX-License-Identifier: MIT
#pragma once
// The 8-bit plan's layout: every decision the integer execution plan makes, as a value, like
// plan_layout() for float (model/plan/layout.hpp) and with the same step kinds and sharing.
// Sizes are in bytes: activations are uint8 (the internal domain of quantized_mobilenet_v1.hpp).
//
// At batch > 1 every convolution step runs image by image (one image's activations are a
// quarter of float's, so an image's whole pass stays in the caches the float plan keeps a band
// in); the pool collects each image's features and the classifier runs over the batch.

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/model/plan/layout.hpp"
#include "mobilenet/model/plan/options.hpp"
#include "mobilenet/model/quantized_mobilenet_v1.hpp"

namespace mobilenet {

// One step's decisions (StepIo's strides and image sizes are in bytes here).
struct Int8StepLayout {
  std::string name;
  StepKind kind = StepKind::Stem;
  StepIo io;
  bool per_image = false;
  StepSharing sharing = StepSharing::FirstThread;
  Index band_rows = 0;   // stem, DSConv
  Index mid_stride = 0;  // DSConv: bytes between pixels of the depthwise output
  Window2D window;       // stem and depthwise 3x3 windows
  Index gemm_k = 0, gemm_n = 0;
  Index scratch_bytes = 0;  // per thread
  Index shared_bytes = 0;   // split panels: the image's depthwise output
};

// Where each region of a session's arena starts, in bytes, each on a cache line.
struct Int8ArenaLayout {
  Index ping = 0, pong = 0, pooled = 0, result = 0, shared = 0, scratch = 0, scratch_stride = 0;
  Index bytes = 0;
};

struct Int8PlanLayout {
  PlanOptions options;  // threads resolved
  Index gemm_panel_width = 16;
  std::vector<Int8StepLayout> steps;
  std::size_t per_image_steps = 0;  // the stem, the blocks and the pool
  Int8ArenaLayout arena;
};

namespace detail {

inline Index round_up_to_cache_line(Index bytes) { return (bytes + 63) / 64 * 64; }

// Bytes between pixels of a uint8 activation of `channels` channels: a cache line more when
// the plain stride is a multiple of 256 bytes, so that a depthwise tile's columns do not all
// fall into the same few L1 sets (as padded_pixel_stride does for float).
inline Index int8_pixel_stride(Index channels) { return channels % 256 == 0 ? channels + 64 : channels; }

// Output rows per band whose scratch rows take `row_bytes`, sized like the float plan's bands
// (PlanTuning's band bounds against the GEMM's weights).
inline Index int8_band_rows(const PlanTuning& t, Index row_bytes, Index weight_bytes, Index rows) {
  const Index bytes = std::min(t.max_band_bytes, std::max(t.min_band_bytes, weight_bytes));
  return std::min(rows, std::max<Index>(1, bytes / row_bytes));
}

// The stem's GEMM depth: its 9 x C_in taps rounded up to a whole number of the 8-bit GEMM's
// groups of 4, so that the kernel runs no tail; the extra taps read the input zero point and
// so add nothing (int8_steps.hpp).
inline Index int8_stem_depth(Index in_channels) { return (9 * in_channels + 3) / 4 * 4; }

inline Int8StepLayout int8_stem_layout(const QuantizedMobileNetV1& m, const PlanOptions& o) {
  Int8StepLayout s;
  s.kind = StepKind::Stem;
  s.name = m.stem.name;
  s.sharing = StepSharing::Bands;
  s.io.in = Shape(1, m.config.resolution, m.config.resolution, m.config.in_channels);
  s.window = window_2d(s.io.in.h, s.io.in.w, 3, m.stem.stride, m.config.padding);
  s.io.out = Shape(1, s.window.rows.out, s.window.cols.out, m.stem.out_channels);
  s.gemm_k = int8_stem_depth(s.io.in.c), s.gemm_n = s.io.out.c;
  s.band_rows = int8_band_rows(o.tuning, s.io.out.w * s.gemm_k, s.gemm_k * s.gemm_n, s.io.out.h);
  s.scratch_bytes = s.band_rows * s.io.out.w * s.gemm_k;
  s.io.in_stride = s.io.in.c;
  s.io.out_stride = int8_pixel_stride(s.io.out.c);
  return s;
}

inline Int8StepLayout int8_dsconv_layout(const QuantizedDSConv& b, const Padding& padding, const Shape& in,
                                         Index in_stride, const PlanOptions& o, Index panel_width) {
  Int8StepLayout s;
  s.kind = StepKind::DSConv;
  s.name = b.depthwise.name.substr(0, b.depthwise.name.find('.'));
  s.io.in = in;
  s.window = window_2d(in.h, in.w, 3, b.depthwise.stride, padding);
  s.io.in_stride = in_stride;
  s.gemm_k = in.c, s.gemm_n = b.pointwise.out_channels;
  s.io.out = Shape(1, s.window.rows.out, s.window.cols.out, s.gemm_n);
  s.mid_stride = int8_pixel_stride(in.c);
  s.io.out_stride = int8_pixel_stride(s.gemm_n);
  const Index mid_pixels = s.io.out.h * s.io.out.w;
  const Index panels = (s.gemm_n + panel_width - 1) / panel_width;
  const bool split = o.threads > 1 && mid_pixels < o.tuning.split_panels_below_pixels && panels >= o.threads;
  s.sharing = split ? StepSharing::SplitPanels : StepSharing::Bands;
  s.band_rows = int8_band_rows(o.tuning, s.io.out.w * s.mid_stride, s.gemm_k * s.gemm_n, s.io.out.h);
  s.scratch_bytes = s.band_rows * s.io.out.w * s.mid_stride;
  if (split) s.shared_bytes = mid_pixels * s.mid_stride;
  return s;
}

// The pool (per image, into the pooled features), the classifier over the batch and the
// softmax, then the output step that converts to the file's domain into the caller's tensor.
inline void add_int8_head_layouts(Int8PlanLayout& l, const QuantizedMobileNetV1& m) {
  const Int8StepLayout& last = l.steps.back();
  const Index features = last.io.out.c;
  Int8StepLayout pool;
  pool.kind = StepKind::Pool;
  pool.name = "pool";
  pool.io.in = last.io.out;
  pool.io.in_stride = last.io.out_stride;
  pool.io.from = last.io.to;
  pool.io.out = Shape(1, 1, 1, features);
  pool.io.to = PlanBuffer::Pooled;
  pool.io.out_image = features;
  pool.scratch_bytes = features * Index(sizeof(std::int32_t));
  l.steps.push_back(std::move(pool));
  l.per_image_steps = l.steps.size();
  PlanBuffer at = PlanBuffer::Pooled;
  if (m.classifier) {
    Int8StepLayout head;
    head.kind = StepKind::Classifier;
    head.name = m.classifier->name;
    head.sharing = StepSharing::Panels;
    head.io.in = Shape(1, 1, 1, features);
    head.io.out = Shape(1, 1, 1, m.classifier->out_channels);
    head.io.from = at;
    head.io.to = at = m.softmax ? PlanBuffer::Ping : PlanBuffer::Handoff;
    head.io.in_image = features, head.io.out_image = head.io.out.c;
    head.gemm_k = features, head.gemm_n = head.io.out.c;
    l.steps.push_back(std::move(head));
  }
  if (m.softmax) {
    Int8StepLayout softmax;
    softmax.kind = StepKind::Softmax;
    softmax.name = "softmax";
    softmax.io.in = softmax.io.out = l.steps.back().io.out;
    softmax.io.from = at;
    softmax.io.to = at = PlanBuffer::Handoff;
    softmax.io.in_image = softmax.io.out_image = softmax.io.out.c;
    l.steps.push_back(std::move(softmax));
  }
  // The result is in the arena's result region (PlanBuffer::Handoff), or in the pooled features.
  (void)at;
}

// Ping-pong buffers of one image, the pooled features and the result of the batch, the split
// steps' shared depthwise output and one scratch per thread.
inline Int8ArenaLayout int8_arena_layout(const Int8PlanLayout& l) {
  Index largest = 0, scratch = 0, shared = 0, features = 0, result = 0;
  for (const Int8StepLayout& s : l.steps) {
    if (s.kind == StepKind::Stem || s.kind == StepKind::DSConv)
      largest = std::max(largest, s.io.out.h * s.io.out.w * s.io.out_stride);
    scratch = std::max(scratch, s.scratch_bytes);
    shared = std::max(shared, s.shared_bytes);
    if (s.kind == StepKind::Pool) features = s.io.out.c;
    result = std::max(result, s.io.out.c);
  }
  const Index b = l.options.batch;
  // The classifier's logits before a softmax share the ping buffer (the blocks are done).
  largest = std::max(largest, b * result);
  Int8ArenaLayout a;
  a.ping = 0;
  a.pong = round_up_to_cache_line(largest);
  a.pooled = a.pong + round_up_to_cache_line(largest);
  a.result = a.pooled + round_up_to_cache_line(b * features);
  a.shared = a.result + round_up_to_cache_line(b * result);
  a.scratch = a.shared + round_up_to_cache_line(shared);
  a.scratch_stride = round_up_to_cache_line(scratch);
  a.bytes = a.scratch + a.scratch_stride * l.options.threads;
  return a;
}

}  // namespace detail

// Every decision of the 8-bit plan for `model` under `options`; `gemm_panel_width` is the
// packed GEMM weights' columns per panel (threads split the GEMMs by panels).
inline Int8PlanLayout int8_plan_layout(const QuantizedMobileNetV1& model, const PlanOptions& options,
                                       Index gemm_panel_width) {
  Int8PlanLayout l;
  l.options = detail::resolved_plan_options(options);
  l.gemm_panel_width = gemm_panel_width;
  l.steps.push_back(detail::int8_stem_layout(model, l.options));
  for (const QuantizedDSConv& block : model.blocks) {
    const Int8StepLayout& before = l.steps.back();
    l.steps.push_back(detail::int8_dsconv_layout(block, model.config.padding, before.io.out, before.io.out_stride,
                                                 l.options, gemm_panel_width));
  }
  // Ping-pong, one image at a time.
  PlanBuffer at = PlanBuffer::Input;
  for (Int8StepLayout& s : l.steps) {
    s.per_image = true;
    s.io.from = at;
    s.io.to = at = (at == PlanBuffer::Ping ? PlanBuffer::Pong : PlanBuffer::Ping);
  }
  l.steps.front().io.in_image = l.steps.front().io.in.size();
  detail::add_int8_head_layouts(l, model);
  l.arena = detail::int8_arena_layout(l);
  return l;
}

}  // namespace mobilenet
