// SPDX-License-Identifier: MIT
// The plan's thread pool: every thread runs the job, barrier() separates phases (no thread
// starts phase i+1 before all finished phase i), and runs repeat without leaking state. And
// its work sharing (runtime/work_sharing.hpp): every item, row and panel goes to exactly one
// thread, in the chunks and directions the plan relies on.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "mobilenet/runtime/thread_pool.hpp"
#include "mobilenet/runtime/work_sharing.hpp"

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

// Under an address-space limit that leaves room for a few thread stacks only, asking for 64
// threads gives an Error naming the limit it hit, in a child process (so the limit and a
// possible hang stay there); an alarm turns a hang into a failure instead of a stuck test.
TEST(ThreadPool, RefusedThreadGivesAnErrorNotAHang) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer runtimes reserve address space of their own: run in a plain build";
#else
  std::fflush(nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(30);
    long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (48u << 20);
    const rlimit address_space{limit, limit};
    if (setrlimit(RLIMIT_AS, &address_space) != 0) _exit(4);
    try {
      ThreadPool pool(64);
      _exit(3);  // every thread started: the limit did not bite
    } catch (const mobilenet::Error& error) {
      _exit(std::strstr(error.what(), "refused thread") && std::strstr(error.what(), "of 64") ? 0 : 2);
    } catch (...) {
      _exit(5);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child hung or crashed (signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: wrong message, 3: no thread refused, 4: setrlimit failed, 5: not an Error";
#endif
}

// The plan's work sharing: threads taking chunks of one counter at once, two from the front
// and two from the back, get every item exactly once, in chunks of at least 1 and at most
// max_chunk items; each end's chunks move inwards.
TEST(GuidedCounter, EveryItemIsTakenExactlyOnceAcrossThreads) {
  constexpr std::int64_t kItems = 100000, kMaxChunk = 64;
  GuidedCounter counter;
  for (int round = 0; round < 3; ++round) {
    counter.reset();
    std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> taken(4);
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t)
      workers.emplace_back([&, t] {
        std::int64_t begin = 0, end = 0;
        const bool from_back = t % 2 == 1;
        while (counter.take(kItems, 4, kMaxChunk, begin, end, from_back)) taken[t].emplace_back(begin, end);
      });
    for (auto& w : workers) w.join();
    std::vector<int> hits(kItems, 0);
    for (std::size_t t = 0; t < taken.size(); ++t)
      for (std::size_t i = 0; i < taken[t].size(); ++i) {
        const auto [begin, end] = taken[t][i];
        ASSERT_GE(end - begin, 1);
        ASSERT_LE(end - begin, kMaxChunk);
        if (i > 0 && t % 2 == 0) {
          ASSERT_GE(begin, taken[t][i - 1].second) << "front chunks move forwards";
        }
        if (i > 0 && t % 2 == 1) {
          ASSERT_LE(end, taken[t][i - 1].first) << "back chunks move backwards";
        }
        for (std::int64_t j = begin; j < end; ++j) ++hits[static_cast<std::size_t>(j)];
      }
    EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), kItems) << "round " << round;
  }
}

// One thread alternates direction from step to step; several threads keep theirs (odd ones
// from the back) in every step.
TEST(WorkSharing, BandDirectionRule) {
  EXPECT_FALSE(takes_from_back(1, 0, 0));
  EXPECT_TRUE(takes_from_back(1, 1, 0));
  EXPECT_FALSE(takes_from_back(1, 2, 0));
  for (std::size_t step : {0, 1, 2, 7}) {
    EXPECT_FALSE(takes_from_back(2, step, 0));
    EXPECT_TRUE(takes_from_back(2, step, 1));
    EXPECT_TRUE(takes_from_back(4, step, 3));
  }
}

// Bands cover the rows in order, at most band_rows each, and stop at every image's edge.
TEST(WorkSharing, BandsStopAtImageEdges) {
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> bands;
  for_each_band(6, 25, 10, 4, [&](std::int64_t image, std::int64_t first, std::int64_t end) {
    bands.emplace_back(image, first, end);
  });
  const std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> want = {
      {0, 6, 10}, {1, 0, 4}, {1, 4, 8}, {1, 8, 10}, {2, 0, 4}, {2, 4, 5}};
  EXPECT_EQ(bands, want);
}

// A lone thread takes whole chunks of max_chunk (the last one shorter), from either end.
TEST(GuidedCounter, OneThreadTakesFullChunks) {
  for (bool from_back : {false, true}) {
    GuidedCounter counter;
    std::vector<std::int64_t> sizes;
    std::int64_t begin = 0, end = 0;
    while (counter.take(17, 1, 7, begin, end, from_back)) sizes.push_back(end - begin);
    EXPECT_EQ(sizes, (std::vector<std::int64_t>{7, 7, 3})) << (from_back ? "from the back" : "from the front");
  }
}

// Two threads draining one counter, one from each end, cover every row of every image once,
// in bands of at most band_rows rows inside one image.
TEST(WorkSharing, BandsTakenByTwoThreadsCoverEveryRowOnce) {
  constexpr std::int64_t kImages = 3, kRows = 57, kBandRows = 5;
  GuidedCounter counter;
  std::vector<std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>> taken(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for_each_band_taken(counter, kImages, kRows, kBandRows, 2, t == 1,
                          [&](std::int64_t image, std::int64_t first, std::int64_t end) {
                            taken[std::size_t(t)].emplace_back(image, first, end);
                          });
    });
  for (auto& t : threads) t.join();
  std::vector<int> hits(std::size_t(kImages * kRows), 0);
  for (const auto& bands : taken)
    for (const auto& [image, first, end] : bands) {
      ASSERT_GE(end - first, 1);
      ASSERT_LE(end - first, kBandRows);
      ASSERT_LE(end, kRows);
      for (std::int64_t r = first; r < end; ++r) ++hits[std::size_t(image * kRows + r)];
    }
  EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), kImages * kRows);
}

// Panel chunks start on a pair and together cover every panel once, an odd last one included.
TEST(WorkSharing, PanelChunksAreWholePairs) {
  for (std::int64_t panels : {1, 2, 7, 32}) {
    GuidedCounter counter;
    std::vector<int> hits(std::size_t(panels), 0);
    for_each_panel_pair_chunk(counter, panels, 2, [&](std::int64_t p0, std::int64_t p1) {
      EXPECT_EQ(p0 % 2, 0);
      EXPECT_LT(p0, p1);
      for (std::int64_t p = p0; p < p1; ++p) ++hits[std::size_t(p)];
    });
    EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), panels) << panels << " panels";
  }
}

}  // namespace
}  // namespace runtime
}  // namespace mobilenet
