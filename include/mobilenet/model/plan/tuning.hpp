// SPDX-License-Identifier: MIT
#pragma once
// The cache sizes the plan's layout decisions are tuned to (docs/design.md, "Tuning"):
// derived from the CPU's caches by default, or set by hand.

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/gemm.hpp"

namespace mobilenet {

// Byte and pixel thresholds of the plan's layout (model/plan/layout.hpp). Every byte value
// scales with the per-core L2 it was derived from; outputs never depend on them, only speed.
struct PlanTuning {
  // The per-core L2 the values below were derived from (0: set by hand).
  Index l2_bytes = 1024 * 1024;
  // A band's depthwise output takes between these many bytes of per-thread scratch: small
  // enough to stay in L2 beside the weights the GEMM streams, and for layers with large
  // weights as large as that allows, since each band streams all of the weights again.
  Index min_band_bytes = 128 * 1024;
  Index max_band_bytes = 512 * 1024;
  // At 2 threads or more, DSConv blocks with fewer output pixels an image than this share
  // their GEMM by weight panels instead of by rows: their activations are tiny next to their
  // weights, which each thread would otherwise stream whole.
  Index split_panels_below_pixels = 100;
  // At batch > 1 the early steps run image by image while their batch's output would take
  // more than this and outweighs their weights; below it, a barrier per image costs more
  // than keeping the batch's output in the caches saves.
  Index per_image_above_bytes = 2 * 1024 * 1024;
  // The step before a GEMM whose weights are larger than this prefetches all of them, not just
  // the first block: from a quarter of L2 up they do not stay there beside the step's own
  // weights and activations, and the GEMM would stream them from L3 or DRAM itself.
  Index prefetch_whole_above_bytes = 256 * 1024;
  // DSConv blocks whose input image is larger than this prefetch their next band's input rows
  // (written a whole step ago, no longer in L2) instead of the next step's weights.
  Index prefetch_input_above_bytes = 1024 * 1024;
  // Panels of weights per block of every GEMM the plan runs (kernels::gemm_blocking_for).
  // The layout sets its pairs_outer (below).
  kernels::GemmBlocking gemm_blocking;
  // A model whose weights and arena take at most this many bytes stays in the L3 from one
  // inference to the next: its GEMMs run with GemmBlocking::pairs_outer, leaving the streaming
  // of their own weights to the hardware prefetcher. Larger models, or 0, prefetch each GEMM's
  // next block of weights in software. for_cpu: the whole L3 of this core (the pair order is
  // no slower when a neighbour evicts part of the model, so the core's share is too cautious).
  Index l3_resident_below_bytes = 0;

  // Derived from the per-core L2 (1 MiB where it is unknown): a band is an eighth to a half of
  // it, whole next weights are prefetched above a quarter of it and next band's input above all
  // of it, image by image above twice it, and the GEMM
  // blocking is the kernels' own rule for it; with 1 MiB of L2 these are the defaults. The L3
  // enters only through l3_resident_below_bytes (0 where it is unknown).
  static PlanTuning for_cpu(const kernels::CpuCaches& caches) {
    const Index l2 = caches.l2_bytes > 0 ? caches.l2_bytes : Index(1024 * 1024);
    kernels::CpuCaches known = caches;
    known.l2_bytes = l2;
    PlanTuning t;
    t.gemm_blocking = kernels::gemm_blocking_for(known);
    t.l2_bytes = l2;
    t.min_band_bytes = l2 / 8;
    t.max_band_bytes = l2 / 2;
    t.per_image_above_bytes = 2 * l2;
    t.prefetch_whole_above_bytes = l2 / 4;
    t.prefetch_input_above_bytes = l2;
    t.l3_resident_below_bytes = caches.l3_bytes;
    return t;
  }
  // For the caches kernels::cpu_caches() detects (once per process).
  static PlanTuning detected() {
    static const PlanTuning tuning = for_cpu(kernels::cpu_caches());
    return tuning;
  }
};

}  // namespace mobilenet
