// SPDX-License-Identifier: MIT
#pragma once
// The 8-bit plan's steps, one type per kind of layer, as model/plan/steps.hpp has for float:
// run(context, thread, first_image, end_image) runs `thread`'s share; every thread calls it,
// and the plan puts a barrier between steps. Activations are uint8 in the internal domain
// (model/quantized_mobilenet_v1.hpp); the stem and the output step convert at the edges.

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/int8/depthwise3x3.hpp"
#include "mobilenet/kernels/int8/gemm.hpp"
#include "mobilenet/kernels/int8/im2col_avx512.hpp"
#include "mobilenet/kernels/int8/pooling.hpp"
#include "mobilenet/model/plan/int8_layout.hpp"
#include "mobilenet/runtime/thread_pool.hpp"
#include "mobilenet/runtime/work_sharing.hpp"

namespace mobilenet {

// What the steps of one run share: the session's arena and counters, the caller's tensors.
struct Int8StepContext {
  std::uint8_t* arena = nullptr;
  Int8ArenaLayout arena_layout;
  const std::uint8_t* input = nullptr;  // the caller's images, file domain
  std::uint8_t* output = nullptr;       // the caller's output, file domain
  Index batch = 0;
  int threads = 1;
  runtime::ThreadPool* pool = nullptr;
  runtime::GuidedCounter* counters = nullptr;  // two per step and image: counter()
  Index max_batch = 1;

  std::uint8_t* buffer(PlanBuffer which) const {
    switch (which) {
      case PlanBuffer::Input: return const_cast<std::uint8_t*>(input);  // only ever read
      case PlanBuffer::Ping: return arena + arena_layout.ping;
      case PlanBuffer::Pong: return arena + arena_layout.pong;
      case PlanBuffer::Handoff: return arena + arena_layout.result;
      case PlanBuffer::Pooled: return arena + arena_layout.pooled;
      case PlanBuffer::Output: return output;
    }
    return nullptr;
  }
  std::uint8_t* scratch(int thread) const {
    return arena + arena_layout.scratch + arena_layout.scratch_stride * thread;
  }
  std::uint8_t* shared() const { return arena + arena_layout.shared; }
  runtime::GuidedCounter& counter(std::size_t step, Index image, int phase) const {
    return counters[(step * std::size_t(max_batch) + std::size_t(image)) * 2 + std::size_t(phase)];
  }
};

namespace detail {

inline const std::uint8_t* input_image(const Int8StepContext& c, const StepIo& io, Index image) {
  return c.buffer(io.from) + image * io.in_image;
}
inline std::uint8_t* output_row(const Int8StepContext& c, const StepIo& io, Index image, Index row) {
  return c.buffer(io.to) + image * io.out_image + row * io.out.w * io.out_stride;
}

// The bands of output rows of `image` that `thread` takes from step `step`'s counter.
template <typename Band>
void for_each_int8_band(const Int8StepContext& c, std::size_t step, int phase, Index image, Index rows,
                        Index band_rows, int thread, Band&& band) {
  runtime::for_each_band_taken(c.counter(step, image, phase), 1, rows, band_rows, c.threads,
                               runtime::takes_from_back(c.threads, step, thread),
                               [&](Index, Index first, Index end) { band(first, end); });
}

}  // namespace detail

// The stem: im2col rows of a band (padding taps = the input's zero point, rows padded to the
// GEMM's depth with it) times the packed weights. An int8 file's input is flipped to the internal domain in the im2col rows.
struct Int8StemStep {
  std::size_t index = 0;
  StepIo io;
  Window2D window;
  Index band_rows = 1;
  std::uint8_t pad = 0;      // the input zero point as the caller's bytes hold it
  bool flip_input = false;   // int8 input: xor 0x80 into the internal domain
  kernels::PackedInt8GemmWeights gemm;
  bool vbmi_im2col = false;  // im2col_stem_rows_u8_avx512 (its conditions checked at build)

  void run(const Int8StepContext& c, int thread, Index image, Index) const {
    std::uint8_t* cols = c.scratch(thread);
    const std::uint8_t* in = detail::input_image(c, io, image);
    detail::for_each_int8_band(c, index, 0, image, io.out.h, band_rows, thread, [&](Index first, Index end) {
      const std::uint8_t flip = flip_input ? 0x80u : 0u;
      kernels::im2col_stem_rows_u8(in, io.in, window, first, end, cols, gemm.k(), static_cast<std::uint8_t>(pad ^ flip),
                                   flip, vbmi_im2col);
      const Index rows = (end - first) * io.out.w;
      kernels::gemm_int8_packed_range(cols, rows, gemm.k(), gemm, detail::output_row(c, io, image, first),
                                      io.out_stride, kernels::Int8GemmRange{0, rows, 0, gemm.panels()});
    });
  }
};

// A depthwise-separable block, fused as in float: by bands through the thread's scratch, or
// (small maps, several threads) the image's depthwise rows to the shared region, a barrier,
// then pairs of the pointwise GEMM's panels.
struct Int8DSConvStep {
  std::size_t index = 0;
  StepIo io;
  Window2D window;
  Index band_rows = 1;
  Index mid_stride = 0;
  bool split_panels = false;
  kernels::PackedDepthwiseInt8Weights depthwise;
  kernels::PackedInt8GemmWeights pointwise;

  void run(const Int8StepContext& c, int thread, Index image, Index) const {
    if (split_panels) return run_split_panels(c, thread, image);
    std::uint8_t* mid = c.scratch(thread);
    detail::for_each_int8_band(c, index, 0, image, io.out.h, band_rows, thread, [&](Index first, Index end) {
      depthwise_rows(c, image, first, end, mid);
      const Index rows = (end - first) * io.out.w;
      kernels::gemm_int8_packed_range(mid, rows, mid_stride, pointwise, detail::output_row(c, io, image, first),
                                      io.out_stride, kernels::Int8GemmRange{0, rows, 0, pointwise.panels()});
    });
  }

 private:
  void run_split_panels(const Int8StepContext& c, int thread, Index image) const {
    std::uint8_t* mid = c.shared();
    const Index row_bytes = io.out.w * mid_stride;
    detail::for_each_int8_band(c, index, 0, image, io.out.h, 1, thread, [&](Index first, Index end) {
      depthwise_rows(c, image, first, end, mid + first * row_bytes);
    });
    c.pool->barrier();
    const Index rows = io.out.h * io.out.w;
    runtime::for_each_panel_pair_chunk(c.counter(index, image, 1), pointwise.panels(), c.threads,
                                       [&](Index p0, Index p1) {
                                         kernels::gemm_int8_packed_range(
                                             mid, rows, mid_stride, pointwise, detail::output_row(c, io, image, 0),
                                             io.out_stride, kernels::Int8GemmRange{0, rows, p0, p1});
                                       });
  }

  void depthwise_rows(const Int8StepContext& c, Index image, Index first, Index end, std::uint8_t* out) const {
    kernels::Depthwise3x3Int8Params p;
    p.input = detail::input_image(c, io, image);
    p.in_h = io.in.h, p.in_w = io.in.w, p.channels = io.in.c;
    p.weights = &depthwise;
    p.output = out, p.out_h = io.out.h, p.out_w = io.out.w;
    p.stride = window.stride, p.pad_top = window.rows.pad_before, p.pad_left = window.cols.pad_before;
    p.row_begin = first, p.row_end = end;
    p.in_pixel_stride = io.in_stride, p.out_pixel_stride = mid_stride;
    kernels::depthwise3x3_int8(p);
  }
};

// Global average pool of one image into the pooled features (thread 0 alone: it is tiny).
struct Int8PoolStep {
  StepIo io;
  QuantRange range;
  bool signed_domain = false;  // int8 files: TFLite's int8 rounding

  void run(const Int8StepContext& c, int thread, Index image, Index) const {
    if (thread != 0) return;
    auto* sums = reinterpret_cast<std::int32_t*>(c.scratch(0));
    kernels::global_average_pool_u8(detail::input_image(c, io, image), io.in.h * io.in.w, io.in.c, io.in_stride,
                                    sums, c.buffer(io.to) + image * io.out_image, range.lo, range.hi, signed_domain);
  }
};

// The classifier over the batch's pooled features, shared by pairs of weight panels.
struct Int8ClassifierStep {
  std::size_t index = 0;
  StepIo io;
  kernels::PackedInt8GemmWeights gemm;

  void run(const Int8StepContext& c, int, Index, Index) const {
    runtime::for_each_panel_pair_chunk(c.counter(index, 0, 1), gemm.panels(), c.threads, [&](Index p0, Index p1) {
      kernels::gemm_int8_packed_range(c.buffer(io.from), c.batch, io.in_image, gemm, c.buffer(io.to),
                                      io.out_image, kernels::Int8GemmRange{0, c.batch, p0, p1});
    });
  }
};

// Softmax of each image's logits (thread 0 alone).
struct Int8SoftmaxStep {
  StepIo io;
  kernels::SoftmaxTable table;

  void run(const Int8StepContext& c, int thread, Index, Index) const {
    if (thread != 0) return;
    for (Index n = 0; n < c.batch; ++n)
      kernels::softmax_u8(c.buffer(io.from) + n * io.in_image, io.in.c, table, c.buffer(io.to) + n * io.out_image);
  }
};

// The batch's result to the caller's tensor in the file's domain (thread 0 alone).
struct Int8OutputStep {
  StepIo io;
  bool flip_output = false;  // int8 output: xor 0x80 back from the internal domain

  void run(const Int8StepContext& c, int thread, Index, Index) const {
    if (thread != 0) return;
    const std::uint8_t* from = c.buffer(io.from);
    const Index count = c.batch * io.out_image;
    const std::uint8_t flip = flip_output ? 0x80u : 0u;
    for (Index i = 0; i < count; ++i) c.output[i] = static_cast<std::uint8_t>(from[i] ^ flip);
  }
};

using Int8PlanStep =
    std::variant<Int8StemStep, Int8DSConvStep, Int8PoolStep, Int8ClassifierStep, Int8SoftmaxStep, Int8OutputStep>;

inline void run_int8_plan_step(const Int8PlanStep& step, const Int8StepContext& c, int thread, Index first_image,
                               Index end_image) {
  std::visit([&](const auto& s) { s.run(c, thread, first_image, end_image); }, step);
}

}  // namespace mobilenet
