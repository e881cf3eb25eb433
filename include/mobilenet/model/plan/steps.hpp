// SPDX-License-Identifier: MIT
#pragma once
// The plan's steps, one type per kind of layer (docs/design.md, "Steps"). Each holds what it
// needs and runs its share of the work with run(context, thread, first_image, end_image):
// images [first_image, end_image) of the current batch, on `thread` of context.threads, all
// of which call it. A step may meet the other threads at context.pool->barrier() inside run
// (the same number of times on every thread); the plan puts a barrier between steps.
//
// A new datatype or kind of layer adds a step type (and its kernels) to PlanStep, not
// branches to these.

#include <cstddef>
#include <variant>
#include <vector>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/conv2d_direct.hpp"
#include "mobilenet/kernels/conv2d_im2col.hpp"
#include "mobilenet/kernels/depthwise3x3.hpp"
#include "mobilenet/kernels/gemm.hpp"
#include "mobilenet/kernels/pooling_reference.hpp"
#include "mobilenet/model/plan/layout.hpp"
#include "mobilenet/model/plan/prefetch.hpp"
#include "mobilenet/runtime/huge_page_buffer.hpp"
#include "mobilenet/runtime/thread_pool.hpp"
#include "mobilenet/runtime/work_sharing.hpp"

namespace mobilenet {

// What the steps of one run share: the session's arena and counters, the caller's tensors.
struct StepContext {
  float* arena = nullptr;
  ArenaLayout arena_layout;
  const float* input = nullptr;
  float* output = nullptr;
  Index batch = 0;  // images in this run
  int threads = 1;
  kernels::Isa isa = kernels::Isa::Generic;
  runtime::ThreadPool* pool = nullptr;
  // Two per step and image the plan is built for: counter(step, first_image, phase).
  runtime::GuidedCounter* counters = nullptr;
  Index max_batch = 1;
  kernels::GemmBlocking gemm_blocking;  // PlanTuning::gemm_blocking

  float* buffer(PlanBuffer which) const {
    switch (which) {
      case PlanBuffer::Input: return const_cast<float*>(input);  // only ever read
      case PlanBuffer::Ping: return arena + arena_layout.ping;
      case PlanBuffer::Pong: return arena + arena_layout.pong;
      case PlanBuffer::Handoff: return arena + arena_layout.handoff;
      case PlanBuffer::Pooled: return arena + arena_layout.pooled;
      case PlanBuffer::Output: return output;
    }
    return nullptr;
  }
  float* scratch(int thread) const { return arena + arena_layout.scratch + arena_layout.scratch_stride * thread; }
  float* shared() const { return arena + arena_layout.shared; }
  // How the GEMM kernels run for this plan, prefetching `prefetch`.
  kernels::GemmOptions gemm_options(const kernels::GemmPrefetch& prefetch = {}) const {
    kernels::GemmOptions options;
    options.isa = isa;
    options.prefetch = prefetch;
    options.blocking = gemm_blocking;
    return options;
  }
  // The work counter of step `step` for the images from first_image on, phase 0 or 1.
  runtime::GuidedCounter& counter(std::size_t step, Index first_image, int phase) const {
    return counters[(step * std::size_t(max_batch) + std::size_t(first_image)) * 2 + std::size_t(phase)];
  }
};

namespace detail {

inline const float* input_image(const StepContext& c, const StepIo& io, Index image) {
  return c.buffer(io.from) + image * io.in_image;
}
inline float* output_row(const StepContext& c, const StepIo& io, Index image, Index row) {
  return c.buffer(io.to) + image * io.out_image + row * io.out.w * io.out_stride;
}

// The bands of output rows of images [first_image, end_image) that `thread` takes from step
// `step`'s counter for `phase`: band(image, first_row, end_row).
template <typename Band>
void for_each_band_of_step(const StepContext& c, std::size_t step, int phase, Index first_image, Index end_image,
                           Index image_rows, Index band_rows, int thread, Band&& band) {
  runtime::for_each_band_taken(c.counter(step, first_image, phase), end_image - first_image, image_rows, band_rows,
                               c.threads, runtime::takes_from_back(c.threads, step, thread),
                               [&](Index image, Index first, Index end) { band(first_image + image, first, end); });
}

}  // namespace detail

// The first convolution: 3x3 over the image, band by band through the thread's scratch,
// either direct over padded input rows or as im2col rows times the packed weights.
struct StemStep {
  std::size_t index = 0;  // in the plan: its counters and band direction
  StepIo io;
  Window2D window;
  Index band_rows = 1;
  bool direct = false;
  kernels::PackedGemmWeights gemm;  // K = 9 * C_in im2col rows x C_out
  Activation activation = Activation::None;
  StepPrefetch prefetch;

  void run(const StepContext& c, int thread, Index first_image, Index end_image) const {
    float* cols = c.scratch(thread);
    const bool upwards = runtime::takes_from_back(c.threads, index, thread);
    detail::for_each_band_of_step(c, index, 0, first_image, end_image, io.out.h, band_rows, thread,
                                  [&](Index image, Index first, Index end) {
                                    const float* in = detail::input_image(c, io, image);
                                    float* out = detail::output_row(c, io, image, first);
                                    if (direct) {
                                      kernels::padded_rows(in, io.in, window, first, end, cols);
                                      kernels::conv2d_direct_rows(
                                          cols, io.in.c, window, first, end, gemm, out, io.out_stride, activation,
                                          c.gemm_options(prefetch.next_band_input(in, first, end, upwards)));
                                      return;
                                    }
                                    kernels::im2col_rows(in, io.in, window, first, end, cols);
                                    kernels::gemm_packed_range(
                                        cols, gemm.k(), gemm, out, io.out_stride, activation,
                                        kernels::GemmRange{0, (end - first) * io.out.w, 0, gemm.panels()},
                                        c.gemm_options());
                                  });
  }
};

// A depthwise-separable block: the 3x3 depthwise convolution and the pointwise GEMM, fused.
// By bands: each band's depthwise rows go to the thread's scratch (in L2) and the GEMM reads
// them from there. Split panels: the batch's depthwise rows to the arena's shared region,
// a barrier, then each thread's pairs of GEMM panels.
struct DSConvStep {
  std::size_t index = 0;
  StepIo io;
  Window2D window;  // the depthwise 3x3
  Index band_rows = 1;
  Index mid_stride = 0;  // floats between pixels of the depthwise output
  bool split_panels = false;
  // 3 x 3 x C and C, starting on a cache line: the kernel's vector loads never straddle two.
  runtime::HugePageBuffer depthwise_weights, depthwise_bias;
  Activation activation = Activation::None;  // after the depthwise and after the pointwise
  kernels::PackedGemmWeights gemm;          // pointwise: C_in x C_out
  StepPrefetch prefetch;

  void run(const StepContext& c, int thread, Index first_image, Index end_image) const {
    if (split_panels) return run_split_panels(c, thread);
    float* band_out = c.scratch(thread);
    const bool upwards = runtime::takes_from_back(c.threads, index, thread);
    const Index rows = (end_image - first_image) * io.out.h;
    detail::for_each_band_of_step(
        c, index, 0, first_image, end_image, io.out.h, band_rows, thread, [&](Index image, Index first, Index end) {
          depthwise_band(c, image, first, end, band_out);
          const Index row = (image - first_image) * io.out.h + first;
          const kernels::GemmPrefetch next =
              prefetch.for_band(detail::input_image(c, io, image), first, end, upwards, row, rows);
          kernels::gemm_packed_range(band_out, mid_stride, gemm, detail::output_row(c, io, image, first),
                                     io.out_stride, activation,
                                     kernels::GemmRange{0, (end - first) * io.out.w, 0, gemm.panels()},
                                     c.gemm_options(next));
        });
  }

 private:
  // Over the whole batch: phase 0 shares the depthwise rows, phase 1 pairs of panels.
  void run_split_panels(const StepContext& c, int thread) const {
    float* mid = c.shared();
    const Index pixel_floats = io.out.w * mid_stride;
    detail::for_each_band_of_step(c, index, 0, 0, c.batch, io.out.h, io.out.h, thread,
                                  [&](Index image, Index first, Index end) {
                                    depthwise_band(c, image, first, end, mid + (image * io.out.h + first) * pixel_floats);
                                  });
    c.pool->barrier();
    runtime::for_each_panel_pair_chunk(c.counter(index, 0, 1), gemm.panels(), c.threads, [&](Index p0, Index p1) {
      kernels::gemm_packed_range(mid, mid_stride, gemm, c.buffer(io.to), io.out_stride, activation,
                                 kernels::GemmRange{0, c.batch * io.out.h * io.out.w, p0, p1},
                                 c.gemm_options(prefetch.for_panels(p0, p1, gemm.panels())));
    });
  }

  // Depthwise output rows [first, end) of `image` into `out` (mid_stride floats a pixel).
  void depthwise_band(const StepContext& c, Index image, Index first, Index end, float* out) const {
    kernels::Depthwise3x3Params p{};
    p.input = detail::input_image(c, io, image);
    p.in_h = io.in.h, p.in_w = io.in.w, p.channels = io.in.c;
    p.weights = depthwise_weights.data(), p.bias = depthwise_bias.data();
    p.output = out, p.out_h = io.out.h, p.out_w = io.out.w;
    p.stride = window.stride, p.pad_top = window.rows.pad_before, p.pad_left = window.cols.pad_before;
    p.activation = activation;
    p.row_begin = first, p.row_end = end;
    p.in_pixel_stride = io.in_stride, p.out_pixel_stride = mid_stride;
    kernels::depthwise3x3(p, c.isa);
  }
};

// Average pooling over the batch (thread 0 alone: it is tiny).
struct PoolStep {
  StepIo io;
  Window2D window;  // kernel 0: global

  void run(const StepContext& c, int thread, Index, Index) const {
    if (thread != 0) return;
    const Shape in(c.batch, io.in.h, io.in.w, io.in.c);
    if (window.kernel == 0)
      kernels::global_average_pool(c.buffer(io.from), in, c.buffer(io.to));
    else
      kernels::average_pool_reference(c.buffer(io.from), in, window, c.buffer(io.to));
  }
};

// The classifier: a GEMM with M = batch, shared by pairs of weight panels.
struct ClassifierStep {
  std::size_t index = 0;
  StepIo io;
  kernels::PackedGemmWeights gemm;

  void run(const StepContext& c, int, Index, Index) const {
    runtime::for_each_panel_pair_chunk(c.counter(index, 0, 1), gemm.panels(), c.threads, [&](Index p0, Index p1) {
      kernels::gemm_packed_range(c.buffer(io.from), gemm.k(), gemm, c.buffer(io.to), gemm.n(), Activation::None,
                                 kernels::GemmRange{0, c.batch, p0, p1}, c.gemm_options());
    });
  }
};

// Softmax over each image's classes, in place in the output (thread 0 alone).
struct SoftmaxStep {
  StepIo io;

  void run(const StepContext& c, int thread, Index, Index) const {
    if (thread == 0) kernels::softmax_rows_inplace(c.buffer(io.to), c.batch, io.out.c);
  }
};

// One step of a plan, whichever kind.
using PlanStep = std::variant<StemStep, DSConvStep, PoolStep, ClassifierStep, SoftmaxStep>;

// Runs `step`'s share for `thread` over images [first_image, end_image).
inline void run_plan_step(const PlanStep& step, const StepContext& c, int thread, Index first_image,
                          Index end_image) {
  std::visit([&](const auto& s) { s.run(c, thread, first_image, end_image); }, step);
}

}  // namespace mobilenet
