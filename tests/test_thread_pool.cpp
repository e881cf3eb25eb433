// SPDX-License-Identifier: MIT
// The plan's thread pool: every thread runs the job, barrier() separates phases (no thread
// starts phase i+1 before all finished phase i), and runs repeat without leaking state.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
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

}  // namespace
}  // namespace runtime
}  // namespace mobilenet
