// SPDX-License-Identifier: MIT
// The library's "allocates nothing" promises, counted: Plan::run and Session::run after a
// warm-up run (README.md, docs/performance.md, docs/sessions.md), MobileNetV1::predict into a
// preallocated output with a warm Workspace (model/mobilenet_v1.hpp), ThreadPool::run.
//
// Two kinds of heap allocation are counted while a counter is armed, from every thread:
// - the global operator new and new[] in all their forms (this file replaces them, which is
//   why it is an executable of its own), and
// - Eigen's own heap (Eigen::internal::aligned_malloc: Matrix storage, GEMM blocking buffers
//   too large for the stack), which calls malloc directly and never reaches operator new.
//   EIGEN_RUNTIME_NO_MALLOC makes Eigen assert before each one; the eigen_assert below turns
//   that one assertion into a count.
// Both definitions must come before anything includes Eigen.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace counting {

std::atomic<bool> armed{false};
std::atomic<long long> allocations{0};

inline void note() {
  if (armed.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}

// Eigen's assertions, kept on in this release build; the one Eigen makes before a heap
// allocation counts it (this file disallows them all, below), any other one aborts as assert does.
inline void eigen_assertion_failed(const char* condition, const char* file, int line) {
  if (std::strstr(condition, "heap allocation is forbidden")) return note();
  std::fprintf(stderr, "%s:%d: Eigen assertion failed: %s\n", file, line, condition);
  std::abort();
}

}  // namespace counting

#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x) \
  ((x) ? static_cast<void>(0) : ::counting::eigen_assertion_failed(#x, __FILE__, __LINE__))

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cstddef>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/model/inference_plan.hpp"
#include "mobilenet/plan.hpp"  // Plan, PackedModel, Session; includes mobilenet.hpp
#include "mobilenet/quantized_plan.hpp"
#include "quantized_models.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

// Every Eigen heap allocation asserts from the start, so that eigen_assertion_failed sees it.
[[maybe_unused]] const bool eigen_heap_reported = (Eigen::internal::set_is_malloc_allowed(false), true);

// The replaced global allocation functions: malloc underneath, every call counted while armed.
namespace counting {

void* allocate(std::size_t size) {
  note();
  return std::malloc(size ? size : 1);
}
void* allocate(std::size_t size, std::align_val_t align) {
  note();
  const std::size_t alignment = std::max(static_cast<std::size_t>(align), sizeof(void*));
  void* p = nullptr;
  return posix_memalign(&p, alignment, size ? size : 1) == 0 ? p : nullptr;
}
void* allocate_or_throw(std::size_t size) {
  if (void* p = allocate(size)) return p;
  throw std::bad_alloc();
}
void* allocate_or_throw(std::size_t size, std::align_val_t align) {
  if (void* p = allocate(size, align)) return p;
  throw std::bad_alloc();
}

}  // namespace counting

void* operator new(std::size_t size) { return counting::allocate_or_throw(size); }
void* operator new[](std::size_t size) { return counting::allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counting::allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counting::allocate(size); }
void* operator new(std::size_t size, std::align_val_t align) { return counting::allocate_or_throw(size, align); }
void* operator new[](std::size_t size, std::align_val_t align) { return counting::allocate_or_throw(size, align); }
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return counting::allocate(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return counting::allocate(size, align);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace mobilenet {
namespace {

// Heap allocations made, on any thread, while `f` runs.
template <typename F>
long long allocations_during(F&& f) {
  counting::allocations.store(0);
  counting::armed.store(true);
  f();
  counting::armed.store(false);
  return counting::allocations.load();
}

// One allocation of each kind this file counts, seen through a volatile pointer so that the
// compiler cannot pair and drop them.
long long probe_allocations() {
  return allocations_during([] {
    void* volatile sink = nullptr;
    sink = ::operator new(24);
    ::operator delete(sink);
    sink = ::operator new[](24);
    ::operator delete[](sink);
    sink = ::operator new(24, std::nothrow);
    ::operator delete(sink, std::nothrow);
    sink = ::operator new[](24, std::nothrow);
    ::operator delete[](sink, std::nothrow);
    sink = ::operator new(24, std::align_val_t(64));
    ::operator delete(sink, std::align_val_t(64));
    sink = ::operator new[](24, std::align_val_t(64));
    ::operator delete[](sink, std::align_val_t(64));
    sink = ::operator new(24, std::align_val_t(64), std::nothrow);
    ::operator delete(sink, std::align_val_t(64), std::nothrow);
    sink = ::operator new[](24, std::align_val_t(64), std::nothrow);
    ::operator delete[](sink, std::align_val_t(64), std::nothrow);
    std::string text(100, 'x');  // through std::allocator
    Eigen::VectorXf vector(1000);  // through Eigen's aligned_malloc
    sink = text.data();
    sink = vector.data();
  });
}
constexpr long long kProbeAllocations = 10;

// A sanitizer runtime may keep our replacements from being called; then there is nothing to
// count with, and a zero would prove nothing.
#define SKIP_UNLESS_COUNTING_WORKS()                                                         \
  do {                                                                                       \
    if (probe_allocations() != kProbeAllocations)                                            \
      GTEST_SKIP() << "this build does not route allocations through the counting operator " \
                      "new (a sanitizer's allocator?)";                                      \
  } while (false)

TEST(AllocationCounter, CountsEveryFormOfNewAndEigensHeap) {
  SKIP_UNLESS_COUNTING_WORKS();
  EXPECT_EQ(probe_allocations(), kProbeAllocations);
  EXPECT_EQ(allocations_during([] {}), 0);
}

TEST(AllocationCounter, CountsOtherThreads) {
  SKIP_UNLESS_COUNTING_WORKS();
  runtime::ThreadPool pool(2);
  auto job = [](int thread) {
    if (thread == 1) {
      void* volatile sink = ::operator new(16);
      ::operator delete(sink);
    }
  };
  EXPECT_EQ(allocations_during([&] { pool.run(job); }), 1);
}

MobileNetV1<float> random_model(const MobileNetV1Config& config) {
  MobileNetV1<float> model(config);
  model.randomize(7);
  return model;
}

Tensor<float> random_images(const Shape& shape) {
  Tensor<float> images(shape);
  images.set_random();
  return images;
}

constexpr int kRuns = 3;

TEST(ThreadPoolAllocations, RunAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  for (int threads : {1, 2, 3}) {
    runtime::ThreadPool pool(threads);
    std::atomic<int> calls{0};
    auto job = [&](int) {
      calls.fetch_add(1);
      pool.barrier();
    };
    pool.run(job);
    EXPECT_EQ(allocations_during([&] {
                for (int run = 0; run < kRuns; ++run) pool.run(job);
              }),
              0)
        << threads << " threads";
    EXPECT_EQ(calls.load(), (kRuns + 1) * threads);
  }
}

// A Plan or Session, warmed up by one run, then run kRuns times: every run's result must be
// the first one's, and nothing may be allocated.
template <typename Runner>
void expect_warm_runs_allocate_nothing(Runner& runner, Index batch, const std::string& what) {
  const Tensor<float> images = random_images(runner.input_shape(batch));
  Tensor<float> first(runner.output_shape(batch)), out(runner.output_shape(batch));
  runner.run(images.view(), first.view());
  EXPECT_EQ(allocations_during([&] {
              for (int run = 0; run < kRuns; ++run) runner.run(images.view(), out.view());
            }),
            0)
      << what;
  EXPECT_EQ(out.to_vector(), first.to_vector()) << what;
}

std::string describe(const MobileNetV1<float>& model, Index batch, int threads) {
  return model.name() + ", batch " + std::to_string(batch) + ", " + std::to_string(threads) + " threads";
}

TEST(PlanAllocations, WarmRunAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  const MobileNetV1<float> model = random_model(MobileNetV1Config::tf_slim(0.25, 128));
  for (int threads : {1, 2})
    for (Index batch : {1, 2}) {
      Plan plan(model, PlanOptions().with_batch(batch).with_threads(threads));
      expect_warm_runs_allocate_nothing(plan, batch, describe(model, batch, threads));
      // A plan built for a batch also runs smaller ones.
      if (batch > 1) expect_warm_runs_allocate_nothing(plan, 1, describe(model, 1, threads) + " on a batch-2 plan");
    }
}

TEST(PlanAllocations, WarmRunAtFullSizeOnTwoThreadsAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  const MobileNetV1<float> model = random_model(MobileNetV1Config::tf_slim(1.0, 224));
  Plan plan(model, PlanOptions().with_threads(2));
  expect_warm_runs_allocate_nothing(plan, 1, describe(model, 1, 2));
}

TEST(QuantizedPlanAllocations, WarmRunAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  for (testing::WeightScheme scheme : {testing::WeightScheme::PerTensorUInt8, testing::WeightScheme::PerChannelInt8}) {
    testing::RandomQuantizedOptions o;
    o.scheme = scheme, o.resolution = 96;
    const QuantizedMobileNetV1 model = testing::random_quantized_mobilenet(o);
    for (int threads : {1, 2})
      for (Index batch : {1, 2}) {
        QuantizedPlan plan(model, PlanOptions().with_batch(batch).with_threads(threads));
        std::vector<std::uint8_t> images(static_cast<std::size_t>(batch * model.input_size()), 77);
        std::vector<std::uint8_t> first(static_cast<std::size_t>(batch * model.output_size())), out(first.size());
        plan.run(images.data(), batch, first.data());
        EXPECT_EQ(allocations_during([&] {
                    for (int run = 0; run < kRuns; ++run) plan.run(images.data(), batch, out.data());
                  }),
                  0)
            << quant_type_name(model.io_type) << ", batch " << batch << ", " << threads << " threads";
        EXPECT_EQ(out, first);
      }
    // Float in and out through InferencePlan: quantizing and dequantizing allocate nothing either.
    InferencePlan wrapped(model, PlanOptions().with_threads(2));
    expect_warm_runs_allocate_nothing(wrapped, 1, "InferencePlan over a QuantizedPlan");
  }
}

TEST(SessionAllocations, WarmRunAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  const MobileNetV1<float> model = random_model(MobileNetV1Config::tf_slim(0.25, 128));
  for (int threads : {1, 2})
    for (Index batch : {1, 2}) {
      const auto packed = PackedModel::create(model, PlanOptions().with_batch(batch).with_threads(threads));
      Session first(packed), second(packed);
      expect_warm_runs_allocate_nothing(first, batch, describe(model, batch, threads) + ", session 1");
      expect_warm_runs_allocate_nothing(second, batch, describe(model, batch, threads) + ", session 2");
    }
}

// The layouts predict() runs: BatchNorm or folded, 1x1-convolution, dense or no head, with
// and without softmax.
std::vector<std::pair<std::string, MobileNetV1Config>> predict_configs() {
  MobileNetV1Config dense = MobileNetV1Config::tf_slim(0.25, 128);
  dense.head = Head::Dense;
  dense.softmax = false;
  dense.conv_bias = true;
  MobileNetV1Config backbone = MobileNetV1Config::tf_slim(0.25, 128);
  backbone.head = Head::None;
  return {{"tf_slim", MobileNetV1Config::tf_slim(0.25, 128)},
          {"tflite (folded)", MobileNetV1Config::tflite(0.25, 128)},
          {"dense head, logits", dense},
          {"backbone only", backbone}};
}

TEST(PredictAllocations, WarmWorkspaceAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  for (const auto& [kind, config] : predict_configs()) {
    const MobileNetV1<float> model = random_model(config);
    for (Index batch : {1, 2}) {
      const std::string what = model.name() + " " + kind + ", batch " + std::to_string(batch);
      const Tensor<float> images = random_images(model.input_shape(batch));
      Tensor<float> out(model.output_shape(batch));
      Workspace<float> workspace;
      model.predict(images.view(), out.view(), workspace);
      const std::vector<float> first = out.to_vector();
      EXPECT_EQ(allocations_during([&] {
                  for (int run = 0; run < kRuns; ++run) model.predict(images.view(), out.view(), workspace);
                }),
                0)
          << what;
      EXPECT_EQ(out.to_vector(), first) << what;
      EXPECT_EQ(out.to_vector(), model.predict(images).to_vector()) << what;
    }
  }
}

// At full width every pointwise layer's product is larger than Eigen packs on the stack.
TEST(PredictAllocations, WarmWorkspaceAtFullSizeAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  const MobileNetV1<float> model = random_model(MobileNetV1Config::tf_slim(1.0, 224));
  const Tensor<float> images = random_images(model.input_shape(1));
  Tensor<float> out(model.output_shape(1));
  Workspace<float> workspace;
  model.predict(images.view(), out.view(), workspace);
  EXPECT_EQ(allocations_during([&] { model.predict(images.view(), out.view(), workspace); }), 0);
}

TEST(PredictAllocations, WarmWorkspaceInDoubleAllocatesNothing) {
  SKIP_UNLESS_COUNTING_WORKS();
  MobileNetV1<double> model(MobileNetV1Config::tf_slim(0.5, 96));
  model.randomize(7);
  Tensor<double> images(model.input_shape(2)), out(model.output_shape(2));
  images.set_random();
  Workspace<double> workspace;
  model.predict(images.view(), out.view(), workspace);
  EXPECT_EQ(allocations_during([&] { model.predict(images.view(), out.view(), workspace); }), 0);
}

// A workspace warmed on a larger batch serves a smaller one without growing.
TEST(PredictAllocations, WorkspaceWarmedOnALargerBatchServesASmallerOne) {
  SKIP_UNLESS_COUNTING_WORKS();
  const MobileNetV1<float> model = random_model(MobileNetV1Config::tf_slim(0.25, 128));
  Workspace<float> workspace;
  const Tensor<float> two = random_images(model.input_shape(2));
  Tensor<float> out2(model.output_shape(2)), out1(model.output_shape(1));
  model.predict(two.view(), out2.view(), workspace);
  const TensorView<const float> one = two.view().batch(0);
  EXPECT_EQ(allocations_during([&] { model.predict(one, out1.view(), workspace); }), 0);
}

}  // namespace
}  // namespace mobilenet
