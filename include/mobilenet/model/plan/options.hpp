// SPDX-License-Identifier: MIT
#pragma once
// What a plan is compiled for: the largest batch, the threads, the instruction set and the
// cache tuning.

#include "mobilenet/core/shape.hpp"
#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/model/plan/tuning.hpp"

namespace mobilenet {

// Aggregate ({batch, threads, isa}) or named:
//   PlanOptions().with_batch(8).with_threads(2).with_isa(kernels::Isa::Avx2)
// The setters return a changed copy, so a chain on a temporary is safe to keep.
struct PlanOptions {
  Index batch = 1;   // the largest batch run() accepts
  int threads = 1;   // threads that run one inference, the caller included; 0: one per core
  kernels::Isa isa = kernels::best_isa();
  PlanTuning tuning = PlanTuning::detected();  // speed only: outputs never depend on it

  PlanOptions with_batch(Index value) const { return changed(&PlanOptions::batch, value); }
  PlanOptions with_threads(int value) const { return changed(&PlanOptions::threads, value); }
  PlanOptions with_isa(kernels::Isa value) const { return changed(&PlanOptions::isa, value); }
  PlanOptions with_tuning(const PlanTuning& value) const { return changed(&PlanOptions::tuning, value); }

 private:
  template <typename Field, typename Value>
  PlanOptions changed(Field PlanOptions::*field, const Value& value) const {
    PlanOptions copy = *this;
    copy.*field = value;
    return copy;
  }
};

}  // namespace mobilenet
