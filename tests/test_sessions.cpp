// SPDX-License-Identifier: MIT
// One PackedModel, many Sessions (model/plan.hpp): a session gives bit for bit a Plan's
// output; N sessions hold one copy of the weights plus N arenas (by the library's accounting
// and by the process's resident memory); sessions run side by side from several threads, on
// pools of their own or one shared pool, and agree bit for bit with a single-threaded run.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/resource.h>
#include <unistd.h>
#endif

// Sanitizers keep shadow memory beside every byte touched, so resident memory says nothing
// about the library there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MOBILENET_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define MOBILENET_TEST_SANITIZED 1
#endif
#endif
#if defined(__linux__) && !defined(MOBILENET_TEST_SANITIZED)
#define MOBILENET_TEST_RESIDENT_MEMORY 1
#endif

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/plan.hpp"

namespace mobilenet {
namespace {

Tensor<float> random_images(const Shape& shape, unsigned seed) {
  Tensor<float> images(shape);
  std::srand(seed);
  images.set_random();
  return images;
}

MobileNetV1<float> random_model(const MobileNetV1Config& config, unsigned seed) {
  MobileNetV1<float> model(config);
  model.randomize(seed);
  return model;
}

MobileNetV1Config small_config() {
  MobileNetV1Config c = MobileNetV1Config::tf_slim(0.25, 64);
  c.num_classes = 37;
  return c;
}

TEST(Session, GivesBitForBitWhatAPlanGives) {
  MobileNetV1Config symmetric = MobileNetV1Config::tf_slim(0.5, 97);
  symmetric.padding = Padding::symmetric(1);
  symmetric.activation = Activation::ReLU;
  symmetric.conv_bias = true;
  symmetric.head = Head::Dense;
  symmetric.softmax = false;
  const std::vector<std::pair<std::string, MobileNetV1Config>> configs = {
      {"tflite_a05_r128", MobileNetV1Config::tflite(0.5, 128)},
      {"slim_a025_r64", small_config()},
      {"symmetric_dense_a05_r97", symmetric},
  };
  for (const auto& [name, config] : configs) {
    const MobileNetV1<float> model = random_model(config, 3);
    for (Index batch : {1, 2})
      for (int threads : {1, 2}) {
        const std::string where = name + " batch " + std::to_string(batch) + " threads " + std::to_string(threads);
        const auto packed = PackedModel::create(model, {batch, threads});
        Session first(packed), second(packed);
        Plan plan(model, {batch, threads});
        EXPECT_EQ(first.threads(), threads);
        EXPECT_EQ(first.batch(), batch);
        EXPECT_EQ(first.arena_bytes(), plan.arena_bytes()) << where;
        EXPECT_EQ(packed->arena_bytes(), plan.arena_bytes()) << where;
        EXPECT_EQ(packed->weight_bytes(), plan.weight_bytes()) << where;
        for (Index n = 1; n <= batch; ++n) {
          const Tensor<float> images = random_images(model.input_shape(n), 10 + unsigned(n));
          const std::vector<float> want = plan.predict(images).to_vector();
          EXPECT_EQ(first.predict(images).to_vector(), want) << where << " images " << n;
          EXPECT_EQ(second.predict(images).to_vector(), want) << where << " images " << n;
          EXPECT_EQ(first.predict(images).to_vector(), want) << where << " images " << n << ", again";
        }
      }
  }
}

#if defined(MOBILENET_TEST_RESIDENT_MEMORY)
// Resident bytes of this process now (/proc/self/statm), or -1.
Index resident_bytes() {
  FILE* statm = std::fopen("/proc/self/statm", "r");
  if (!statm) return -1;
  long pages = 0, resident = -1;
  if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = -1;
  std::fclose(statm);
  return resident < 0 ? -1 : Index(resident) * Index(sysconf(_SC_PAGESIZE));
}
#endif

// The bar of issue 15: 8 sessions over one packed 1.0/224 model cost one copy of the weights
// plus 8 arenas, at most 1.2 x (one plan + 8 arenas).
TEST(SessionMemory, EightSessionsHoldOneCopyOfTheWeights) {
  constexpr int kSessions = 8;
  const MobileNetV1<float> model(MobileNetV1Config::tf_slim(1.0, 224));
  const Plan plan(model, {1, 1});
  const auto packed = PackedModel::create(model, {1, 1});
#if defined(MOBILENET_TEST_RESIDENT_MEMORY)
  const Index resident_before = resident_bytes();
#endif
  std::vector<Session> sessions;
  for (int i = 0; i < kSessions; ++i) sessions.emplace_back(packed);

  Index total = packed->weight_bytes();
  for (const Session& s : sessions) {
    EXPECT_EQ(s.model().get(), packed.get());
    EXPECT_EQ(s.arena_bytes(), packed->arena_bytes());
    total += s.arena_bytes();
  }
  const Index arena = sessions.front().arena_bytes();
  EXPECT_EQ(total, packed->weight_bytes() + kSessions * arena);
  EXPECT_EQ(packed->weight_bytes(), plan.weight_bytes());
  EXPECT_LE(double(total), 1.2 * double(plan.weight_bytes() + plan.arena_bytes() + kSessions * arena));
  // Eight plans would hold eight copies.
  EXPECT_LT(double(total), 0.5 * double(kSessions * (plan.weight_bytes() + plan.arena_bytes())));
  std::printf("[ memory   ] weights %.2f MB, arena %.2f MB; %d sessions %.2f MB; one plan + %d arenas %.2f MB; "
              "%d plans %.2f MB\n",
              double(packed->weight_bytes()) / 1e6, double(arena) / 1e6, kSessions, double(total) / 1e6, kSessions,
              double(plan.weight_bytes() + plan.arena_bytes() + kSessions * arena) / 1e6, kSessions,
              double(kSessions * (plan.weight_bytes() + plan.arena_bytes())) / 1e6);

#if defined(MOBILENET_TEST_RESIDENT_MEMORY)
  // What the OS holds agrees: the sessions added their arenas (each rounded up to whole 2 MB
  // pages), not a copy of the weights.
  const Index resident_after = resident_bytes();
  if (resident_before > 0 && resident_after > 0) {
    constexpr Index kHugePage = Index(2) << 20, kSlack = Index(4) << 20;
    const Index rounded_arena = (arena + kHugePage - 1) / kHugePage * kHugePage;
    ASSERT_GT(packed->weight_bytes(), kSlack) << "a copy of the weights must not fit in the slack";
    EXPECT_LE(resident_after - resident_before, kSessions * rounded_arena + kSlack);
    std::printf("[ memory   ] resident: %.2f MB more for %d sessions\n",
                double(resident_after - resident_before) / 1e6, kSessions);
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0)
    std::printf("[ memory   ] peak RSS of this process so far: %.1f MB\n", double(usage.ru_maxrss) / 1e3);
#endif
}

// 4 threads, each with its own session over one PackedModel, each running 20 inferences of
// its own inputs (1 or 2 images): every output equals a single-threaded session's, bit for bit.
TEST(SessionThreads, ConcurrentSessionsGiveBitIdenticalResults) {
  constexpr int kThreads = 4, kRuns = 20;
  const MobileNetV1<float> model = random_model(small_config(), 5);
  const auto packed = PackedModel::create(model, {2, 1});
  std::vector<Tensor<float>> inputs, want;
  {
    Session reference(packed);
    for (int i = 0; i < kThreads * kRuns; ++i) {
      inputs.push_back(random_images(model.input_shape(1 + i % 2), 100 + unsigned(i)));
      want.push_back(reference.predict(inputs.back()));
    }
  }
  std::vector<std::vector<Tensor<float>>> got(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&, t] {
      Session session(packed);
      for (int r = 0; r < kRuns; ++r) got[t].push_back(session.predict(inputs[std::size_t(t * kRuns + r)]));
    });
  for (auto& w : workers) w.join();
  for (int t = 0; t < kThreads; ++t)
    for (int r = 0; r < kRuns; ++r)
      ASSERT_EQ(got[t][std::size_t(r)].to_vector(), want[std::size_t(t * kRuns + r)].to_vector())
          << "thread " << t << " run " << r;
}

// Sessions of two threads each, from 4 threads at once: two on pools of their own, two on one
// shared pool (serialised on it), and one session called from two threads (serialised on its
// arena). All agree bit for bit with a single caller's runs.
TEST(SessionThreads, SharedPoolsAndSharedSessionsAreSerialised) {
  constexpr int kThreads = 4, kRuns = 8;
  const MobileNetV1<float> model = random_model(small_config(), 6);
  const auto packed = PackedModel::create(model, {2, 2});
  std::vector<Tensor<float>> inputs, want;
  {
    Session reference(packed);
    for (int i = 0; i < kRuns; ++i) {
      inputs.push_back(random_images(model.input_shape(2), 200 + unsigned(i)));
      want.push_back(reference.predict(inputs.back()));
    }
  }
  auto pool = std::make_shared<runtime::ThreadPool>(2);
  Session shared_by_callers(packed);
  std::vector<Session> sessions;
  sessions.emplace_back(packed);
  sessions.emplace_back(packed);
  sessions.emplace_back(packed, pool);
  sessions.emplace_back(packed, pool);
  EXPECT_EQ(sessions[2].pool(), pool);
  EXPECT_NE(sessions[0].pool(), sessions[1].pool());
  std::vector<std::vector<Tensor<float>>> got(kThreads), got_shared(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        got[t].push_back(sessions[std::size_t(t)].predict(inputs[std::size_t(r)]));
        if (t < 2) got_shared[t].push_back(shared_by_callers.predict(inputs[std::size_t(r)]));
      }
    });
  for (auto& w : workers) w.join();
  for (int t = 0; t < kThreads; ++t)
    for (int r = 0; r < kRuns; ++r) {
      ASSERT_EQ(got[t][std::size_t(r)].to_vector(), want[std::size_t(r)].to_vector()) << "session " << t << " run " << r;
      if (t < 2) {
        ASSERT_EQ(got_shared[t][std::size_t(r)].to_vector(), want[std::size_t(r)].to_vector()) << "caller " << t;
      }
    }
}

TEST(SessionErrors, RejectsANullModelAndAPoolOfAnotherSize) {
  const MobileNetV1<float> model(small_config());
  const auto packed = PackedModel::create(model, {1, 2});
  EXPECT_THROW(Session(nullptr), ConfigError);
  EXPECT_THROW(Session(packed, std::make_shared<runtime::ThreadPool>(1)), ConfigError);
  EXPECT_THROW(PackedModel::create(model, {0, 1}), ConfigError);
  Session session(packed);
  Tensor<float> out(session.output_shape(1));
  EXPECT_THROW(session.run(Tensor<float>(Shape(2, 64, 64, 3)).view(), out.view()), ShapeError);
  const auto any_threads = PackedModel::create(model, {1, 0});
  EXPECT_GE(any_threads->threads(), 1) << "0 threads: one per core";
  EXPECT_EQ(Session(any_threads).threads(), any_threads->threads());
}

}  // namespace
}  // namespace mobilenet
