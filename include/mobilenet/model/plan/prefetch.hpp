// SPDX-License-Identifier: MIT
#pragma once
// What each step's GEMMs prefetch for the work after them (docs/design.md, "Prefetch"): the
// layout's PrefetchChoice of every step, turned into addresses once the weights are packed.
// Prefetching changes only timing, never a result.

#include <algorithm>
#include <cstddef>
#include <vector>

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/gemm.hpp"
#include "mobilenet/model/plan/layout.hpp"

namespace mobilenet {

namespace detail {
// Part [i0, i1) of n equal parts of `whole`, in whole cache lines.
inline kernels::GemmPrefetch share_of_lines(const kernels::GemmPrefetch& whole, Index i0, Index i1, Index n) {
  if (!whole.begin || n <= 0) return {};
  const Index lines = whole.bytes / 64;
  const Index first = lines * i0 / n, last = lines * i1 / n;
  return {static_cast<const char*>(whole.begin) + 64 * first, 64 * (last - first)};
}
}  // namespace detail

// One step's prefetching: for each of its GEMM calls, the memory to ask for.
class StepPrefetch {
 public:
  StepPrefetch() = default;
  // `next_weights`: the weights the layout chose for this step to prefetch ({} if none).
  StepPrefetch(const StepLayout& s, const kernels::GemmPrefetch& next_weights)
      : choice_(s.prefetch), next_weights_(next_weights), window_(s.window.kernel), stride_(s.window.stride),
        pad_top_(s.window.rows.pad_before), out_h_(s.io.out.h), in_h_(s.io.in.h),
        in_row_floats_(s.io.in.w * s.io.in_stride) {}

  PrefetchChoice choice() const { return choice_; }

  // For the GEMM of band [first, end) of the step's output rows, over `image_input` (the
  // image the band reads), when the band is row `row` of the `rows` rows the step's threads
  // share: this thread's next band's input rows, or the band's share of the next weights.
  // `upwards`: the thread takes its bands from the bottom up.
  kernels::GemmPrefetch for_band(const float* image_input, Index first, Index end, bool upwards, Index row,
                                 Index rows) const {
    if (choice_ == PrefetchChoice::NextBandInput) return next_band_input(image_input, first, end, upwards);
    return detail::share_of_lines(next_weights_, row, row + end - first, rows);
  }
  // For the GEMM over panels [p0, p1) of `panels`: their share of the next weights.
  kernels::GemmPrefetch for_panels(Index p0, Index p1, Index panels) const {
    return detail::share_of_lines(next_weights_, p0, p1, panels);
  }
  // The input rows of the band after [first, end) (its size again below it, or above it
  // when `upwards`) in `image_input`; {} at the image's edge.
  kernels::GemmPrefetch next_band_input(const float* image_input, Index first, Index end, bool upwards) const {
    const Index next_first = upwards ? std::max<Index>(0, first - (end - first)) : end;
    const Index next_end = upwards ? first : std::min(out_h_, end + (end - first));
    if (next_end <= next_first) return {};
    const Index r0 = std::max<Index>(0, next_first * stride_ - pad_top_);
    const Index r1 = std::min(in_h_, (next_end - 1) * stride_ - pad_top_ + window_);
    if (r1 <= r0) return {};
    return {image_input + r0 * in_row_floats_, (r1 - r0) * in_row_floats_ * Index(sizeof(float))};
  }

 private:
  PrefetchChoice choice_ = PrefetchChoice::None;
  kernels::GemmPrefetch next_weights_;
  // The step's input geometry, for next_band_input.
  Index window_ = 0, stride_ = 1, pad_top_ = 0, out_h_ = 0, in_h_ = 0, in_row_floats_ = 0;
};

// Every step's StepPrefetch, from the layout and the packed weights (`gemms[i]`: step i's,
// nullptr for a step without a GEMM).
class PrefetchPlan {
 public:
  PrefetchPlan(const PlanLayout& layout, const std::vector<const kernels::PackedGemmWeights*>& gemms) {
    steps_.reserve(layout.steps.size());
    const kernels::GemmBlocking& blocking = layout.gemm_blocking;
    for (const StepLayout& s : layout.steps) steps_.emplace_back(s, next_weights(s, gemms, blocking));
  }
  const StepPrefetch& step(std::size_t index) const { return steps_[index]; }

 private:
  static kernels::GemmPrefetch next_weights(const StepLayout& s,
                                            const std::vector<const kernels::PackedGemmWeights*>& gemms,
                                            const kernels::GemmBlocking& blocking) {
    const bool block = s.prefetch == PrefetchChoice::NextWeightsBlock;
    if (!block && s.prefetch != PrefetchChoice::NextWeightsWhole) return {};
    const kernels::PackedGemmWeights& next = *gemms[s.prefetch_step];
    if (block) return kernels::first_weights(next, blocking);
    return {next.slice(0, 0), next.floats() * Index(sizeof(float))};
  }

  std::vector<StepPrefetch> steps_;
};

}  // namespace mobilenet
