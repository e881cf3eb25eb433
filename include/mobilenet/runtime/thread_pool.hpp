// SPDX-License-Identifier: MIT
#pragma once
// A small persistent thread pool for the execution plan, with a spinning barrier.
//
// Why not a condition variable per layer, Eigen's ThreadPool or OpenMP: an inference meets at
// a barrier after every step, and each step's work is short enough that sleeping and waking
// through the kernel at each of them would cost a large part of what a second core gains. So
// one inference is one parallel region: `run(job)` wakes the workers once, every thread runs
// every step of the plan on its share (runtime/work_sharing.hpp) and meets the others at
// `barrier()`, which spins (the wait is short, since the shares are equal), falling back to a
// condition variable if a thread is late (a busy machine preempted it). Between inferences a
// worker spins a little, then sleeps on a condition variable so an idle pool costs no CPU.
// OpenMP would do the same but adds a compiler flag and runtime to every app of a header-only
// library; Eigen's ThreadPool has no barrier and wakes through condition variables.

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "mobilenet/core/error.hpp"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mobilenet {
namespace runtime {

namespace detail {
// Tells the core this thread is spinning (frees resources for the other hyperthread).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace detail

class ThreadPool {
 public:
  // `threads` >= 1 counts the caller: threads - 1 workers are started. When the system refuses
  // a thread (a process limit, no memory for its stack), the ones already started are stopped
  // and joined, and an Error says how many could be started.
  explicit ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
    workers_.reserve(static_cast<std::size_t>(threads_ - 1));
    try {
      for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { work(i); });
    } catch (const std::exception& failure) {
      const std::size_t started = workers_.size() + 1;  // the caller counts
      stop_workers();
      throw Error(mobilenet::detail::concat("ThreadPool: the system refused thread ", started + 1, " of ",
                                            threads_, " (", failure.what(), "); only ", started,
                                            " could run: ask for fewer threads"));
    }
  }
  ~ThreadPool() { stop_workers(); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Calls job(thread) on every thread (0 is the caller) and returns when all have finished.
  // One run at a time per pool. Nothing is allocated.
  template <typename Job>
  void run(Job& job) {
    job_context_ = &job;
    job_call_ = [](void* context, int thread) { (*static_cast<Job*>(context))(thread); };
    if (threads_ == 1) return job(0);
    epoch_.fetch_add(1);  // seq_cst: pairs with the sleepers_ check below (see work())
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    job(0);
    barrier();
  }

  // Waits until every thread of the current run has called barrier() as often as this one.
  // Spins first (the shares are equal, so the others are usually microseconds away), then
  // sleeps, so a preempted thread on a busy machine costs a wake-up, not a burnt time slice.
  void barrier() {
    if (threads_ == 1) return;
    const unsigned generation = barrier_generation_.load(std::memory_order_acquire);
    if (barrier_count_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
      barrier_count_.store(0, std::memory_order_relaxed);
      barrier_generation_.store(generation + 1);  // seq_cst: pairs with barrier_sleepers_
      if (barrier_sleepers_.load() > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        barrier_wake_.notify_all();
      }
      return;
    }
    for (unsigned spins = 0; spins < kBarrierSpins; ++spins) {
      if (barrier_generation_.load(std::memory_order_acquire) != generation) return;
      detail::cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    barrier_sleepers_.fetch_add(1);  // seq_cst, before re-reading the generation
    barrier_wake_.wait(lock, [&] { return barrier_generation_.load() != generation; });
    barrier_sleepers_.fetch_sub(1);
  }

 private:
  // Spins before sleeping: long enough to cover the usual gap between threads reaching a
  // barrier, short enough that a preempted thread does not burn a time slice (the pause
  // instruction's latency differs between CPUs, so the time it covers does too).
  static constexpr unsigned kBarrierSpins = 1u << 12;
  static constexpr unsigned kIdleSpins = 1u << 13;

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      epoch_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  void work(int thread) {
    unsigned seen = 0;
    for (;;) {
      unsigned now = epoch_.load(std::memory_order_acquire);
      for (unsigned spins = 0; now == seen && spins < kIdleSpins; ++spins) {
        detail::cpu_relax();
        now = epoch_.load(std::memory_order_acquire);
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);  // seq_cst, before re-reading epoch_: no lost wake-up
        wake_.wait(lock, [&] { return epoch_.load() != seen; });
        sleepers_.fetch_sub(1);
        now = epoch_.load();
      }
      seen = now;
      if (stopping_) return;
      job_call_(job_context_, thread);
      barrier();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, barrier_wake_;
  std::atomic<unsigned> epoch_{0};
  std::atomic<int> sleepers_{0};
  bool stopping_ = false;  // written under mutex_ before the epoch changes
  void* job_context_ = nullptr;
  void (*job_call_)(void*, int) = nullptr;
  std::atomic<int> barrier_count_{0};
  std::atomic<unsigned> barrier_generation_{0};
  std::atomic<int> barrier_sleepers_{0};
};

}  // namespace runtime
}  // namespace mobilenet
