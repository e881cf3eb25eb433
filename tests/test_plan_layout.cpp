// SPDX-License-Identifier: MIT
// The plan's layout decisions (model/plan/layout.hpp), checked without packing weights or
// running threads: bands, split panels, per-image steps, strides, arena and weight offsets,
// prefetch choices, and how the tuning (PlanTuning::for_cpu) moves them.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

namespace mobilenet {
namespace {

constexpr Index kKiB = 1024, kMiB = 1024 * 1024;

kernels::CpuCaches caches_with_l2(Index l2_bytes) {
  kernels::CpuCaches caches;
  caches.l1d_bytes = 32 * kKiB;
  caches.l2_bytes = l2_bytes;
  caches.l3_bytes = 32 * kMiB;
  caches.l3_shared_by = 8;
  caches.source = "default";
  return caches;
}

// Options independent of the machine that runs the test: 1 MiB of L2, the generic kernels
// (the layout never checks that this CPU runs them).
PlanOptions options(Index batch, int threads, Index l2_bytes = kMiB, kernels::Isa isa = kernels::Isa::Generic) {
  return PlanOptions().with_batch(batch).with_threads(threads).with_isa(isa).with_tuning(
      PlanTuning::for_cpu(caches_with_l2(l2_bytes)));
}

const MobileNetV1<float>& mobilenet_1_224() {
  static const MobileNetV1<float> model(MobileNetV1Config::tf_slim(1.0, 224));
  return model;
}

const StepLayout& step(const PlanLayout& l, const std::string& name) {
  for (const StepLayout& s : l.steps)
    if (s.name == name) return s;
  throw std::runtime_error("no step " + name);
}

TEST(PlanTuning, OneMebibyteOfL2GivesTheDefaults) {
  const PlanTuning t = PlanTuning::for_cpu(caches_with_l2(kMiB)), defaults;
  EXPECT_EQ(t.min_band_bytes, 128 * kKiB);
  EXPECT_EQ(t.max_band_bytes, 512 * kKiB);
  EXPECT_EQ(t.split_panels_below_pixels, 100);
  EXPECT_EQ(t.per_image_above_bytes, 2 * kMiB);
  EXPECT_EQ(t.prefetch_whole_above_bytes, 256 * kKiB);
  EXPECT_EQ(t.prefetch_whole_above_bytes, defaults.prefetch_whole_above_bytes);
  EXPECT_EQ(t.prefetch_input_above_bytes, kMiB);
  EXPECT_EQ(t.gemm_blocking.panels, 16);
  EXPECT_EQ(t.gemm_blocking.panels, defaults.gemm_blocking.panels);
  EXPECT_EQ(t.gemm_blocking.prefetch_pairs_above_bytes, 512 * kKiB);
  EXPECT_EQ(t.gemm_blocking.prefetch_pairs_above_bytes, defaults.gemm_blocking.prefetch_pairs_above_bytes);
  EXPECT_EQ(t.min_band_bytes, defaults.min_band_bytes);
  EXPECT_EQ(t.max_band_bytes, defaults.max_band_bytes);
  EXPECT_EQ(t.per_image_above_bytes, defaults.per_image_above_bytes);
  const PlanTuning unknown = PlanTuning::for_cpu(caches_with_l2(0));
  EXPECT_EQ(unknown.max_band_bytes, defaults.max_band_bytes) << "no L2 reported: the defaults";
}

TEST(PlanOptions, NamedSettersMatchTheAggregate) {
  const PlanOptions named = PlanOptions().with_batch(8).with_threads(2).with_isa(kernels::Isa::Generic);
  const PlanOptions aggregate{8, 2, kernels::Isa::Generic};
  EXPECT_EQ(named.batch, aggregate.batch);
  EXPECT_EQ(named.threads, aggregate.threads);
  EXPECT_EQ(named.isa, aggregate.isa);
  EXPECT_EQ(named.tuning.max_band_bytes, PlanTuning::detected().max_band_bytes);
  EXPECT_EQ(PlanOptions().with_threads(0).threads, 0) << "resolved when a plan is built";
  EXPECT_GE(plan_layout(mobilenet_1_224(), PlanOptions().with_threads(0)).options.threads, 1);
}

// Batch 1 at 2 threads: the large early blocks by bands, the 7x7 ones by weight panels (their
// weights dwarf their activations), nothing image by image.
TEST(PlanLayout, BandsEarlySplitPanelsOnSevenBySevenBlocks) {
  const PlanLayout l = plan_layout(mobilenet_1_224(), options(1, 2));
  EXPECT_EQ(l.per_image_steps, 0u);
  for (const char* name : {"stem", "dsconv1", "dsconv2", "dsconv6", "dsconv11"})
    EXPECT_EQ(step(l, name).sharing, StepSharing::Bands) << name;
  for (const char* name : {"dsconv12", "dsconv13"}) EXPECT_EQ(step(l, name).sharing, StepSharing::SplitPanels) << name;
  EXPECT_EQ(step(l, "classifier").sharing, StepSharing::Panels);
  EXPECT_EQ(step(l, "pool").sharing, StepSharing::FirstThread);
  EXPECT_EQ(step(l, "dsconv1").io.out.h, 112);
  for (const StepLayout& s : l.steps) EXPECT_FALSE(s.per_image) << s.name;
  // One thread has nobody to split the panels with.
  const PlanLayout single = plan_layout(mobilenet_1_224(), options(1, 1));
  EXPECT_EQ(step(single, "dsconv13").sharing, StepSharing::Bands);
}

// Batch 8: the early steps, whose batch output would leave the caches and outweighs their
// weights, run image by image and hand the batch to the rest through the hand-off buffer.
TEST(PlanLayout, EarlyStepsRunImageByImageAtBatchEight) {
  const PlanLayout l = plan_layout(mobilenet_1_224(), options(8, 2));
  ASSERT_GE(l.per_image_steps, 2u);
  for (std::size_t i = 0; i < l.steps.size(); ++i) EXPECT_EQ(l.steps[i].per_image, i < l.per_image_steps) << i;
  EXPECT_TRUE(step(l, "stem").per_image);
  EXPECT_TRUE(step(l, "dsconv1").per_image);
  EXPECT_FALSE(step(l, "dsconv13").per_image);
  const StepLayout& last = l.steps[l.per_image_steps - 1];
  EXPECT_EQ(last.io.to, PlanBuffer::Handoff);
  EXPECT_EQ(l.steps[l.per_image_steps].io.from, PlanBuffer::Handoff);
  EXPECT_EQ(step(l, "stem").io.out_image, 0) << "a per-image buffer holds one image";
  EXPECT_EQ(plan_layout(mobilenet_1_224(), options(8, 2, 64 * kMiB)).per_image_steps, 0u)
      << "a batch that fits the (tuned) caches runs batched";
}

// Arena regions start on cache lines, in order, without overlap, and each holds what the steps
// write to it.
TEST(PlanLayout, ArenaRegionsAreAlignedAndDisjoint) {
  for (Index batch : {1, 3, 8})
    for (int threads : {1, 2}) {
      const PlanLayout l = plan_layout(mobilenet_1_224(), options(batch, threads));
      const ArenaLayout& a = l.arena;
      const std::vector<Index> starts = {a.ping, a.pong, a.handoff, a.pooled, a.shared, a.scratch, a.floats};
      for (std::size_t i = 0; i < starts.size(); ++i) {
        EXPECT_EQ(starts[i] % 16, 0) << "region " << i;
        if (i > 0) {
          EXPECT_LE(starts[i - 1], starts[i]) << "region " << i;
        }
      }
      EXPECT_EQ(a.scratch_stride % 16, 0);
      EXPECT_EQ(a.floats, a.scratch + a.scratch_stride * threads);
      for (const StepLayout& s : l.steps) {
        const Index images = s.per_image && s.io.to != PlanBuffer::Handoff ? 1 : batch;
        const Index written = images * s.io.out.h * s.io.out.w * std::max(s.io.out_stride, s.io.out.c);
        if (s.io.to == PlanBuffer::Ping) {
          EXPECT_LE(written, a.pong - a.ping) << s.name;
        }
        if (s.io.to == PlanBuffer::Pong) {
          EXPECT_LE(written, a.handoff - a.pong) << s.name;
        }
        if (s.io.to == PlanBuffer::Handoff) {
          EXPECT_LE(written, a.pooled - a.handoff) << s.name;
        }
        if (s.io.to == PlanBuffer::Pooled) {
          EXPECT_LE(written, a.shared - a.pooled) << s.name;
        }
        EXPECT_LE(batch * s.shared_floats, a.scratch - a.shared) << s.name;
        EXPECT_LE(s.scratch_floats, a.scratch_stride) << s.name;
      }
    }
}

// A band's depthwise scratch stays within the tuning's bounds: at most max_band_bytes, and at
// least min_band_bytes unless the whole image fits in less.
TEST(PlanLayout, BandScratchWithinTuningBounds) {
  for (Index l2 : {256 * kKiB, kMiB, 2 * kMiB}) {
    const PlanLayout l = plan_layout(mobilenet_1_224(), options(1, 2, l2));
    const PlanTuning& t = l.options.tuning;
    for (const StepLayout& s : l.steps) {
      if (s.kind != StepKind::DSConv || s.sharing != StepSharing::Bands) continue;
      const Index row_bytes = s.io.out.w * s.mid_stride * Index(sizeof(float));
      const Index band_bytes = s.scratch_floats * Index(sizeof(float));
      EXPECT_EQ(band_bytes, s.band_rows * row_bytes) << s.name;
      EXPECT_LE(band_bytes, std::max(t.max_band_bytes, row_bytes)) << s.name << " at L2 " << l2;
      if (s.band_rows < s.io.out.h) {
        EXPECT_GT(band_bytes + row_bytes, t.min_band_bytes) << s.name << " at L2 " << l2;
      }
    }
  }
}

// The tuning adapts: a smaller L2 gives no more band rows anywhere, and fewer somewhere.
TEST(PlanLayout, SmallerL2GivesFewerBandRows) {
  const PlanLayout large = plan_layout(mobilenet_1_224(), options(1, 1, kMiB));
  const PlanLayout small = plan_layout(mobilenet_1_224(), options(1, 1, 256 * kKiB));
  ASSERT_EQ(large.steps.size(), small.steps.size());
  int fewer = 0;
  for (std::size_t i = 0; i < large.steps.size(); ++i) {
    EXPECT_LE(small.steps[i].band_rows, large.steps[i].band_rows) << large.steps[i].name;
    fewer += small.steps[i].band_rows < large.steps[i].band_rows;
  }
  EXPECT_GT(fewer, 0);
  EXPECT_LT(small.arena.scratch_stride, large.arena.scratch_stride);
}

// Activations of 256, 512 and 1024 channels are a cache line wider a pixel; the last block's
// output is dense (the pool reads it).
TEST(PlanLayout, PixelStrides) {
  const PlanLayout l = plan_layout(mobilenet_1_224(), options(1, 2));
  EXPECT_EQ(step(l, "stem").io.out_stride, 32);
  EXPECT_EQ(step(l, "dsconv4").io.out_stride, 256 + 16);
  EXPECT_EQ(step(l, "dsconv5").io.in_stride, 256 + 16);
  EXPECT_EQ(step(l, "dsconv12").mid_stride, 512 + 16);
  EXPECT_EQ(step(l, "dsconv13").io.out_stride, 1024);
  for (std::size_t i = 1; i + 1 < l.steps.size(); ++i)
    if (l.steps[i].kind == StepKind::DSConv) {
      EXPECT_EQ(l.steps[i].io.in_stride, l.steps[i - 1].io.out_stride) << l.steps[i].name;
    }
}

// Weight blocks start on cache lines, one after the other, and add up to the block; their
// bytes are what the packed model holds.
TEST(PlanLayout, WeightOffsetsAreAlignedAndContiguous) {
  const MobileNetV1<float> model(MobileNetV1Config::tf_slim(0.5, 128));
  const PlanLayout l = plan_layout(model, options(1, 1));
  Index next = 0;
  for (const StepLayout& s : l.steps) {
    if (s.gemm.k == 0) continue;
    EXPECT_EQ(s.weight_offset, next) << s.name;
    EXPECT_EQ(s.weight_offset % 16, 0) << s.name;
    next = s.weight_offset + (s.gemm.floats() + 15) / 16 * 16;
  }
  EXPECT_EQ(next, l.weight_floats);
  const auto packed = PackedModel::create(model, options(1, 1));
  EXPECT_EQ(packed->weight_bytes(), l.weight_bytes());
  EXPECT_EQ(packed->arena_bytes(), l.arena.bytes());
}

// Early blocks with inputs larger than L2 prefetch their next band's input; the others the next
// GEMM's weights, whole where those exceed a quarter of L2 and for the classifier.
TEST(PlanLayout, PrefetchChoices) {
  const PlanLayout l = plan_layout(mobilenet_1_224(), options(1, 2, kMiB, kernels::Isa::Avx512));
  EXPECT_EQ(step(l, "stem").prefetch, MOBILENET_X86_DISPATCH ? PrefetchChoice::NextBandInput : PrefetchChoice::None);
  for (const char* name : {"dsconv1", "dsconv2", "dsconv3", "dsconv4"})
    EXPECT_EQ(step(l, name).prefetch, PrefetchChoice::NextBandInput) << name;
  EXPECT_EQ(step(l, "dsconv5").prefetch, PrefetchChoice::NextWeightsWhole) << "dsconv6's 512 KB";
  EXPECT_EQ(l.steps[step(l, "dsconv5").prefetch_step].name, "dsconv6");
  EXPECT_EQ(step(l, "dsconv11").prefetch, PrefetchChoice::NextWeightsWhole) << "dsconv12's 2 MB";
  EXPECT_EQ(step(l, "dsconv13").prefetch, PrefetchChoice::NextWeightsWhole);
  EXPECT_EQ(l.steps[step(l, "dsconv13").prefetch_step].kind, StepKind::Classifier);
  EXPECT_EQ(plan_layout(mobilenet_1_224(), options(1, 2)).steps[0].prefetch, PrefetchChoice::None)
      << "the im2col stem prefetches nothing";
  // With 4 MiB of L2 the early inputs fit: they prefetch weights instead, the first block where
  // those are below 1 MiB.
  const PlanLayout large_l2 = plan_layout(mobilenet_1_224(), options(1, 2, 4 * kMiB));
  EXPECT_EQ(step(large_l2, "dsconv3").prefetch, PrefetchChoice::NextWeightsBlock) << "dsconv4's 134 KB";
  EXPECT_EQ(step(large_l2, "dsconv11").prefetch, PrefetchChoice::NextWeightsWhole) << "dsconv12's 2 MB";
}

// The GEMMs run pair of panels by pair (GemmBlocking::pairs_outer) when the weights and the
// arena fit the tuning's L3, else row tile by row tile with their own prefetches.
TEST(PlanLayout, GemmPassOrderFollowsTheL3) {
  EXPECT_EQ(PlanTuning::for_cpu(caches_with_l2(kMiB)).l3_resident_below_bytes, 32 * kMiB) << "the whole L3";
  PlanTuning small_l3 = PlanTuning::for_cpu(caches_with_l2(kMiB));
  small_l3.l3_resident_below_bytes = 4 * kMiB;
  const PlanLayout small_share = plan_layout(mobilenet_1_224(), options(1, 1).with_tuning(small_l3));
  const Index footprint = small_share.weight_floats * Index(sizeof(float)) + small_share.arena.bytes();
  EXPECT_GT(footprint, 16 * kMiB);
  EXPECT_FALSE(small_share.gemm_blocking.pairs_outer);
  for (Index share : {footprint - 1, footprint, Index(0)}) {
    PlanTuning tuning = PlanTuning::for_cpu(caches_with_l2(kMiB));
    tuning.l3_resident_below_bytes = share;
    const PlanLayout l = plan_layout(mobilenet_1_224(), options(1, 1).with_tuning(tuning));
    EXPECT_EQ(l.gemm_blocking.pairs_outer, share == footprint) << "L3 share " << share << ", footprint " << footprint;
  }
}

TEST(PlanDescribe, NamesTheDecisions) {
  const MobileNetV1<float> model(MobileNetV1Config::tf_slim(0.25, 128));
  const Plan plan(model, options(2, 2));
  const std::string text = plan.describe();
  for (const char* want : {"generic", "2 thread", "batch 2", "L2", "tuning", "stem", "dsconv13", "split panels",
                           "bands of", "classifier", "arena", "weights", "GEMMs"})
    EXPECT_NE(text.find(want), std::string::npos) << want << " in:\n" << text;
}

}  // namespace
}  // namespace mobilenet
