// SPDX-License-Identifier: MIT
#pragma once
// The plan's layout: every decision the execution plan makes for a model and its options,
// as a value (docs/design.md). plan_layout() is a pure function of the model's shapes, the
// options and their tuning; it packs no weights and starts no threads, so tests can check
// its decisions directly (tests/test_plan_layout.cpp).

#include <algorithm>
#include <cstddef>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/conv2d_direct.hpp"
#include "mobilenet/kernels/depthwise3x3_common.hpp"
#include "mobilenet/kernels/gemm.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/plan/options.hpp"

namespace mobilenet {

enum class StepKind { Stem, DSConv, Pool, Classifier, Softmax };
// Where a step reads and writes: the caller's tensors or a region of the session's arena.
enum class PlanBuffer { Input, Ping, Pong, Handoff, Pooled, Output };
// How the threads share a step (runtime/work_sharing.hpp).
enum class StepSharing {
  Bands,        // bands of output rows, each through the thread's scratch
  SplitPanels,  // the batch's depthwise rows, then pairs of the GEMM's weight panels
  Panels,       // pairs of the GEMM's weight panels (the classifier)
  FirstThread,  // thread 0 alone (pool, softmax)
};
// What a step prefetches while it runs, for the work that follows it.
enum class PrefetchChoice {
  None,
  NextBandInput,     // the input rows of this thread's next band
  NextWeightsBlock,  // the first block of the next GEMM's weights
  NextWeightsWhole,  // all of the next GEMM's weights
};

// The packed size of a GEMM's K x N weights (kernels::PackedGemmWeights), known before packing.
struct GemmGeometry {
  Index k = 0, n = 0;
  Index panels() const { return (n + kernels::kGemmPanelWidth - 1) / kernels::kGemmPanelWidth; }
  Index floats() const { return panels() * k * kernels::kGemmPanelWidth; }
  // Weights and the panel-padded bias.
  Index bytes() const { return (floats() + panels() * kernels::kGemmPanelWidth) * Index(sizeof(float)); }
};

// What a step reads and writes, one image's worth.
struct StepIo {
  Shape in, out;
  PlanBuffer from = PlanBuffer::Input, to = PlanBuffer::Output;
  // Floats from one image to the next in `from` and `to`; 0 where the buffer holds one image
  // that each image reuses (the per-image steps' ping-pong buffers).
  Index in_image = 0, out_image = 0;
  // Floats between neighbouring pixels of `from` and `to`.
  Index in_stride = 0, out_stride = 0;
};

// One step's decisions.
struct StepLayout {
  std::string name;
  StepKind kind = StepKind::Stem;
  StepIo io;
  bool per_image = false;  // run image by image at batch > 1 (PlanTuning::per_image_above_bytes)
  StepSharing sharing = StepSharing::FirstThread;
  Index band_rows = 0;      // output rows per band (stem, DSConv)
  Index mid_stride = 0;     // DSConv: floats between pixels of the depthwise output
  Window2D window;          // stem and depthwise 3x3 windows; the pool's (kernel 0: global)
  bool direct = false;      // stem: direct convolution over padded rows instead of im2col
  GemmGeometry gemm;        // stem (im2col rows), pointwise, classifier; k = 0: none
  Index weight_offset = 0;  // where the packed GEMM weights start in the weight block, in floats
  Index depthwise_floats = 0;  // DSConv: depthwise weights and bias
  Index scratch_floats = 0;    // per-thread scratch a band takes
  Index shared_floats = 0;     // split panels: one image's depthwise output, shared by the threads
  PrefetchChoice prefetch = PrefetchChoice::None;
  std::size_t prefetch_step = 0;  // NextWeights*: the step whose weights

  Index weight_bytes() const {
    return (gemm.k > 0 ? gemm.bytes() : 0) + depthwise_floats * Index(sizeof(float));
  }
};

// Where each region starts in a session's arena, in floats; each starts on a cache line.
struct ArenaLayout {
  Index ping = 0, pong = 0, handoff = 0, pooled = 0, shared = 0, scratch = 0, scratch_stride = 0;
  Index floats = 0;  // the whole arena
  Index bytes() const { return floats * Index(sizeof(float)); }
};

// The whole plan's decisions for one model and PlanOptions (threads resolved).
struct PlanLayout {
  PlanOptions options;
  std::vector<StepLayout> steps;
  std::size_t per_image_steps = 0;  // the first steps, which run image by image
  ArenaLayout arena;
  Index weight_floats = 0;  // the weight block: every packed GEMM, each on a cache line
  // Every GEMM's blocking: the tuning's, with pairs_outer set when the weights and the arena
  // fit in PlanTuning::l3_resident_below_bytes.
  kernels::GemmBlocking gemm_blocking;

  Index weight_bytes() const {
    Index total = 0;
    for (const StepLayout& s : steps) total += s.weight_bytes();
    return total;
  }
};

namespace detail {

// A float count rounded up to whole cache lines (16 floats).
inline Index round_up_to_cache_line_floats(Index floats) { return (floats + 15) / 16 * 16; }

// The options with `threads` resolved (0: one per core); throws ConfigError for bad ones.
inline PlanOptions resolved_plan_options(const PlanOptions& o) {
  require_at_least("Plan", "batch", o.batch, 1);
  require_at_least("Plan", "threads", o.threads, 0);
  PlanOptions resolved = o;
  if (resolved.threads == 0) {
    const unsigned cores = std::thread::hardware_concurrency();
    resolved.threads = cores > 0 ? static_cast<int>(cores) : 1;
  }
  return resolved;
}

// Output rows per band when a row of the band's scratch holds `row_floats` floats and the
// GEMM's packed weights take `weight_bytes`: the weights' size clamped to the tuning's band
// bounds, at least one row.
inline Index band_rows_for(const PlanTuning& t, Index row_floats, Index weight_bytes) {
  const Index bytes = std::min(t.max_band_bytes, std::max(t.min_band_bytes, weight_bytes));
  return std::max<Index>(1, bytes / Index(sizeof(float)) / row_floats);
}

inline StepLayout stem_layout(const MobileNetV1<float>& model, const PlanOptions& o) {
  StepLayout s;
  s.kind = StepKind::Stem;
  s.name = "stem";
  s.sharing = StepSharing::Bands;
  s.io.in = model.input_shape(1);
  s.io.out = model.stem.output_shape(s.io.in);
  s.window = model.stem.window(s.io.in);
  s.gemm = {9 * s.io.in.c, s.io.out.c};
  s.band_rows = std::min(s.io.out.h, band_rows_for(o.tuning, s.io.out.w * s.gemm.k, s.gemm.bytes()));
  s.direct = kernels::direct_conv_available(o.isa, s.gemm.k);
  s.scratch_floats = s.direct ? kernels::padded_rows_count(s.window, 0, s.band_rows) *
                                    kernels::padded_row_width(s.window) * s.io.in.c
                              : s.band_rows * s.io.out.w * s.gemm.k;
  s.io.in_stride = s.io.in.c;
  s.io.out_stride = model.blocks.empty() ? s.io.out.c : kernels::padded_pixel_stride(s.io.out.c);
  // The stem reads the caller's image, usually from DRAM: only the direct kernel prefetches.
  s.prefetch = s.direct ? PrefetchChoice::NextBandInput : PrefetchChoice::None;
  return s;
}

// Block `block` reading `in` with `in_stride` floats a pixel; `last`: the pool reads its
// output, which is therefore dense.
inline StepLayout dsconv_layout(const DSConv<float>& block, const Shape& in, Index in_stride, bool last,
                                const PlanOptions& o) {
  StepLayout s;
  s.kind = StepKind::DSConv;
  s.name = block.name();
  s.io.in = in;
  s.io.out = block.output_shape(in);
  const Shape mid = block.depthwise_output_shape(in);
  s.window = block.depthwise.window(in);
  s.depthwise_floats = Index(block.depthwise.weight().values().size()) + in.c;
  s.gemm = {in.c, s.io.out.c};
  const bool split = o.threads > 1 && mid.h * mid.w < o.tuning.split_panels_below_pixels &&
                     s.gemm.panels() >= o.threads;
  s.sharing = split ? StepSharing::SplitPanels : StepSharing::Bands;
  s.io.in_stride = in_stride;
  s.mid_stride = kernels::padded_pixel_stride(mid.c);
  s.io.out_stride = last ? s.io.out.c : kernels::padded_pixel_stride(s.io.out.c);
  s.band_rows = std::min(mid.h, band_rows_for(o.tuning, mid.w * s.mid_stride, s.gemm.bytes()));
  s.scratch_floats = s.band_rows * mid.w * s.mid_stride;
  if (split) s.shared_floats = mid.h * mid.w * s.mid_stride;
  const bool input_beyond_l2 = in.h * in.w * in_stride * Index(sizeof(float)) > o.tuning.prefetch_input_above_bytes;
  if (!split && input_beyond_l2) s.prefetch = PrefetchChoice::NextBandInput;
  return s;
}

// How many of the leading steps run image by image: while a step's batch output is larger
// than the tuning allows and outweighs its weights (never at batch 1, never a split step).
inline std::size_t per_image_step_count(const std::vector<StepLayout>& steps, const PlanOptions& o) {
  std::size_t count = 0;
  for (const StepLayout& s : steps) {
    const Index out_bytes = s.io.out.h * s.io.out.w * s.io.out_stride * Index(sizeof(float));
    if (o.batch == 1 || s.sharing == StepSharing::SplitPanels || out_bytes <= s.gemm.bytes() ||
        o.batch * out_bytes <= o.tuning.per_image_above_bytes)
      break;
    ++count;
  }
  return count;
}

// Gives the stem and the blocks their buffers: ping-pong, the per-image steps one image each,
// the last of them handing the batch on. Returns {the largest ping-pong buffer, the hand-off
// buffer's floats per image}, in floats.
inline std::pair<Index, Index> assign_buffers(PlanLayout& l) {
  PlanBuffer at = PlanBuffer::Input;
  Index at_image = l.steps.front().io.in.size();
  Index largest = 0, handoff = 0;
  for (std::size_t i = 0; i < l.steps.size(); ++i) {
    StepLayout& s = l.steps[i];
    s.per_image = i < l.per_image_steps;
    s.io.from = at, s.io.in_image = at_image;
    const Index out_floats = s.io.out.h * s.io.out.w * s.io.out_stride;
    s.io.to = at == PlanBuffer::Ping ? PlanBuffer::Pong : PlanBuffer::Ping;
    s.io.out_image = s.per_image ? 0 : out_floats;
    if (i + 1 == l.per_image_steps) {
      s.io.to = PlanBuffer::Handoff;
      s.io.out_image = handoff = out_floats;
    } else {
      largest = std::max(largest, s.per_image ? out_floats : l.options.batch * out_floats);
    }
    at = s.io.to, at_image = s.io.out_image;
  }
  return {largest, handoff};
}

// The pool, the classifier and the softmax after the last block (those the model has).
inline void add_head_layouts(PlanLayout& l, const MobileNetV1<float>& model) {
  const StepLayout& last = l.steps.back();
  StepLayout pool;
  pool.kind = StepKind::Pool;
  pool.name = "pool";
  pool.io.in = last.io.out;
  pool.io.out = model.pool.output_shape(last.io.out);
  pool.io.from = last.io.to;
  pool.io.to = model.has_classifier() ? PlanBuffer::Pooled : PlanBuffer::Output;
  pool.window = model.pool.is_global() ? Window2D{} : model.pool.window(last.io.out);
  const Shape pooled = pool.io.out;
  l.steps.push_back(std::move(pool));
  if (!model.has_classifier()) return;
  StepLayout head;
  head.kind = StepKind::Classifier;
  head.name = "classifier";
  head.sharing = StepSharing::Panels;
  head.io.in = pooled;
  head.io.out = model.output_shape(1);
  head.io.from = PlanBuffer::Pooled;
  head.gemm = {pooled.h * pooled.w * pooled.c, head.io.out.c};
  l.steps.push_back(head);
  if (!model.config().softmax) return;
  StepLayout softmax;
  softmax.kind = StepKind::Softmax;
  softmax.name = "softmax";
  softmax.io.in = softmax.io.out = head.io.out;
  softmax.io.from = softmax.io.to = PlanBuffer::Output;
  l.steps.push_back(std::move(softmax));
}

// Two activation buffers, the per-image steps' hand-off, the pooled features, the split
// steps' shared depthwise output and one scratch per thread, in that order.
inline ArenaLayout arena_layout(const PlanLayout& l, Index largest, Index handoff) {
  Index scratch = 0, shared = 0, pooled = 0;
  for (const StepLayout& s : l.steps) {
    scratch = std::max(scratch, s.scratch_floats);
    shared = std::max(shared, s.shared_floats);
    if (s.kind == StepKind::Pool) pooled = s.io.out.size();
  }
  const Index b = l.options.batch;
  ArenaLayout a;
  a.ping = 0;
  a.pong = round_up_to_cache_line_floats(largest);
  a.handoff = a.pong + round_up_to_cache_line_floats(largest);
  a.pooled = a.handoff + round_up_to_cache_line_floats(b * handoff);
  a.shared = a.pooled + round_up_to_cache_line_floats(b * pooled);
  a.scratch = a.shared + round_up_to_cache_line_floats(b * shared);
  a.scratch_stride = round_up_to_cache_line_floats(scratch);
  a.floats = a.scratch + a.scratch_stride * l.options.threads;
  return a;
}

// Each DSConv block that does not prefetch its input prefetches the next GEMM's weights: all
// of them for the classifier and for weights larger than the tuning allows, else the first
// block.
inline void choose_weight_prefetch(PlanLayout& l) {
  for (std::size_t i = 0; i < l.steps.size(); ++i) {
    StepLayout& s = l.steps[i];
    if (s.kind != StepKind::DSConv || s.prefetch == PrefetchChoice::NextBandInput) continue;
    for (std::size_t j = i + 1; j < l.steps.size(); ++j) {
      const StepLayout& next = l.steps[j];
      if (next.gemm.k == 0) continue;
      const bool whole = next.kind == StepKind::Classifier ||
                         next.gemm.bytes() > l.options.tuning.prefetch_whole_above_bytes;
      s.prefetch = whole ? PrefetchChoice::NextWeightsWhole : PrefetchChoice::NextWeightsBlock;
      s.prefetch_step = j;
      break;
    }
  }
}

}  // namespace detail

// Every decision of the plan for `model` (its shapes and kinds of layer only: folded or not
// gives the same layout) under `options`. Throws ConfigError for options it cannot honour.
inline PlanLayout plan_layout(const MobileNetV1<float>& model, const PlanOptions& options) {
  PlanLayout l;
  l.options = detail::resolved_plan_options(options);
  l.steps.push_back(detail::stem_layout(model, l.options));
  for (const auto& block : model.blocks) {
    const StepLayout& before = l.steps.back();
    const bool last = &block == &model.blocks.back();
    l.steps.push_back(detail::dsconv_layout(block, before.io.out, before.io.out_stride, last, l.options));
  }
  l.per_image_steps = detail::per_image_step_count(l.steps, l.options);
  const auto [largest, handoff] = detail::assign_buffers(l);
  detail::add_head_layouts(l, model);
  l.arena = detail::arena_layout(l, largest, handoff);
  for (StepLayout& s : l.steps) {
    if (s.gemm.k == 0) continue;
    s.weight_offset = l.weight_floats;
    l.weight_floats += detail::round_up_to_cache_line_floats(s.gemm.floats());
  }
  detail::choose_weight_prefetch(l);
  l.gemm_blocking = l.options.tuning.gemm_blocking;
  l.gemm_blocking.pairs_outer =
      l.weight_floats * Index(sizeof(float)) + l.arena.bytes() <= l.options.tuning.l3_resident_below_bytes;
  return l;
}

}  // namespace mobilenet
