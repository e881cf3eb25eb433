// SPDX-License-Identifier: MIT
#pragma once
// A plan's layout as text, for people (Plan::describe(), bench/ort/ours_latency --describe).

#include <algorithm>
#include <cstdio>
#include <string>

#include "mobilenet/model/plan/layout.hpp"
#include "mobilenet/model/plan/tuning.hpp"

namespace mobilenet {
namespace detail {

inline std::string kib(Index bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f KiB", double(bytes) / 1024.0);
  return text;
}

inline const char* buffer_name(PlanBuffer b) {
  switch (b) {
    case PlanBuffer::Input: return "input";
    case PlanBuffer::Ping: return "ping";
    case PlanBuffer::Pong: return "pong";
    case PlanBuffer::Handoff: return "handoff";
    case PlanBuffer::Pooled: return "pooled";
    case PlanBuffer::Output: return "output";
  }
  return "?";
}

inline const char* prefetch_name(PrefetchChoice p) {
  switch (p) {
    case PrefetchChoice::None: return "-";
    case PrefetchChoice::NextBandInput: return "next band's input";
    case PrefetchChoice::NextWeightsBlock: return "next weights' first block";
    case PrefetchChoice::NextWeightsWhole: return "all next weights";
  }
  return "?";
}

// "bands of 8 rows", "per image, bands of 8 rows", "split panels", "panel pairs", "thread 0".
inline std::string sharing_text(const StepLayout& s) {
  std::string text = s.per_image ? "per image, " : "";
  switch (s.sharing) {
    case StepSharing::Bands: return text + "bands of " + std::to_string(s.band_rows) + " rows";
    case StepSharing::SplitPanels: return text + "split panels";
    case StepSharing::Panels: return text + "panel pairs";
    case StepSharing::FirstThread: return text + "thread 0";
  }
  return text;
}

// Arena bytes a step writes (its output where that is in the arena) and its scratch.
inline std::string step_arena_text(const StepLayout& s, Index batch) {
  std::string text;
  if (s.io.to != PlanBuffer::Input && s.io.to != PlanBuffer::Output) {
    const Index images = s.per_image && s.io.to != PlanBuffer::Handoff ? 1 : batch;
    const Index floats = images * s.io.out.h * s.io.out.w * std::max(s.io.out_stride, s.io.out.c);
    text = std::string(buffer_name(s.io.to)) + " " + kib(floats * Index(sizeof(float)));
  } else {
    text = buffer_name(s.io.to);
  }
  if (s.scratch_floats > 0) text += ", scratch " + kib(s.scratch_floats * Index(sizeof(float))) + " a thread";
  if (s.shared_floats > 0) text += ", shared " + kib(batch * s.shared_floats * Index(sizeof(float)));
  return text;
}

inline std::string describe_header(const std::string& name, const PlanLayout& l, const kernels::CpuCaches& c) {
  const PlanOptions& o = l.options;
  const PlanTuning& t = o.tuning;
  std::string text = name + ": " + kernels::isa_name(o.isa) + ", " + std::to_string(o.threads) + " thread(s), batch " +
                     std::to_string(o.batch) + "\n";
  text += "caches (" + std::string(c.source) + "): L1d " + kib(c.l1d_bytes) + ", L2 " + kib(c.l2_bytes) + ", L3 " +
          kib(c.l3_bytes) + " shared by " + std::to_string(c.l3_shared_by) + "\n";
  text += "tuning (from L2 " + (t.l2_bytes > 0 ? kib(t.l2_bytes) : std::string("-, set by hand")) + "): bands " +
          kib(t.min_band_bytes) + " to " + kib(t.max_band_bytes) + ", split panels below " +
          std::to_string(t.split_panels_below_pixels) + " pixels, per image above " + kib(t.per_image_above_bytes) +
          ", prefetch all next weights above " + kib(t.prefetch_whole_above_bytes) + ", next band's input above " +
          kib(t.prefetch_input_above_bytes) + ", GEMM blocks of " + std::to_string(t.gemm_blocking.panels) +
          " panels\n";
  text += "weights " + kib(l.weight_bytes()) + ", arena " + kib(l.arena.bytes()) + "; GEMMs " +
          (l.gemm_blocking.pairs_outer ? "pair of panels by pair: the model fits the L3 share of " +
                                             kib(t.l3_resident_below_bytes) + "; weights above " +
                                             kib(l.gemm_blocking.prefetch_pairs_above_bytes) + " prefetch the next pair"
                                       : std::string("row tile by row tile, prefetching their own weights")) +
          "\n";
  return text;
}

}  // namespace detail

// The plan's options, the detected caches, the tuning, then a line a step: how the threads
// share it, what it prefetches, its weight bytes and the arena it writes.
inline std::string describe_plan(const std::string& name, const PlanLayout& l, const kernels::CpuCaches& caches) {
  std::string text = detail::describe_header(name, l, caches);
  for (const StepLayout& s : l.steps) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-10s %-28s prefetch %-26s weights %-12s ", s.name.c_str(),
                  detail::sharing_text(s).c_str(), detail::prefetch_name(s.prefetch),
                  detail::kib(s.weight_bytes()).c_str());
    text += line + detail::step_arena_text(s, l.options.batch) + "\n";
  }
  return text;
}

}  // namespace mobilenet
