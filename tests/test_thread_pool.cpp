// SPDX-License-Identifier: MIT
// The plan's thread pool: every thread runs the job, barrier() separates phases (no thread
// starts phase i+1 before all finished phase i), and runs repeat without leaking state.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
namespace runtime {
namespace {

TEST(ThreadPool, BarrierSeparatesPhasesOverManyRuns) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    constexpr int kPhases = 50;
    std::vector<std::atomic<int>> done(kPhases);
    std::atomic<int> violations{0};
    std::vector<int> ran(static_cast<std::size_t>(threads), 0);
    for (int run = 0; run < 20; ++run) {
      for (auto& d : done) d.store(0);
      auto job = [&](int thread) {
        ++ran[static_cast<std::size_t>(thread)];
        for (int phase = 0; phase < kPhases; ++phase) {
          if (phase > 0 && done[phase - 1].load() != threads) ++violations;
          done[phase].fetch_add(1);
          pool.barrier();
        }
      };
      pool.run(job);
      for (auto& d : done) EXPECT_EQ(d.load(), threads);
    }
    EXPECT_EQ(violations.load(), 0) << threads << " threads";
    for (int count : ran) EXPECT_EQ(count, 20);
  }
}

TEST(ThreadPool, NonPositiveCountMeansTheCallerAlone) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.threads(), 1);
  int calls = 0;
  auto job = [&](int thread) { calls += thread + 1; };
  pool.run(job);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace runtime
}  // namespace mobilenet
