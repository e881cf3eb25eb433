// SPDX-License-Identifier: MIT
#pragma once
// The execution plan: MobileNetV1 compiled once for an input size, a batch and a thread count.
//
//   mobilenet::Plan plan(model, mobilenet::PlanOptions().with_batch(1).with_threads(2));
//   plan.run(images, probabilities);               // allocates nothing
//   mobilenet::Tensor<float> p = plan.predict(images);
//
// Several threads over one copy of the weights (docs/sessions.md):
//
//   auto packed = mobilenet::PackedModel::create(model, mobilenet::PlanOptions().with_threads(1));
//   mobilenet::Session session(packed);            // one per thread: an arena and its threads
//   session.run(images, probabilities);
//
// A PackedModel is what compiling gives (BatchNorm folded, weights packed, the steps), immutable
// and shared; a Session is what one inference writes (the arena, the work counters) and the
// threads that run it. A Plan is a PackedModel with a Session of its own. Results depend only
// on the model and the instruction set, never on threads, batch or tuning.
//
// The parts (docs/design.md explains each and why):
//   plan/options.hpp, plan/tuning.hpp  PlanOptions, PlanTuning (cache sizes, from the CPU)
//   plan/layout.hpp    plan_layout(): every decision as a value (bands, per-image steps,
//                      split panels, strides, buffers, arena, weight offsets, prefetch)
//   plan/prefetch.hpp  what each step's GEMMs prefetch
//   plan/steps.hpp     StemStep, DSConvStep, PoolStep, ClassifierStep, SoftmaxStep
//   runtime/work_sharing.hpp, runtime/thread_pool.hpp  how threads share and meet

#include <cassert>
#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/gemm.hpp"
#include "mobilenet/model/fold.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/plan/describe.hpp"
#include "mobilenet/model/plan/layout.hpp"
#include "mobilenet/model/plan/options.hpp"
#include "mobilenet/model/plan/prefetch.hpp"
#include "mobilenet/model/plan/steps.hpp"
#include "mobilenet/model/plan/tuning.hpp"
#include "mobilenet/runtime/huge_page_buffer.hpp"
#include "mobilenet/runtime/thread_pool.hpp"
#include "mobilenet/runtime/work_sharing.hpp"

namespace mobilenet {

namespace detail {

// A layer's bias, or nullptr when it has none (PackedGemmWeights then uses zeros).
template <typename Layer>
const float* bias_of(const Layer& layer) {
  return layer.has_bias() ? layer.bias().data() : nullptr;
}

// The mutex that serialises runs on `pool`: one per pool, shared by every Session using it
// and kept while one does (a pool runs one job at a time; runtime/thread_pool.hpp).
inline std::shared_ptr<std::mutex> run_lock(const runtime::ThreadPool* pool) {
  static std::mutex registry_mutex;
  static std::map<const runtime::ThreadPool*, std::weak_ptr<std::mutex>> locks;
  std::lock_guard<std::mutex> guard(registry_mutex);
  for (auto it = locks.begin(); it != locks.end();) it = it->second.expired() ? locks.erase(it) : std::next(it);
  std::weak_ptr<std::mutex>& slot = locks[pool];
  std::shared_ptr<std::mutex> lock = slot.lock();
  if (!lock) slot = lock = std::make_shared<std::mutex>();
  return lock;
}

// Step `index`'s GEMM weights of the folded `model`, packed (the stem's, a block's pointwise
// or the classifier's).
inline kernels::PackedGemmWeights packed_gemm(const MobileNetV1<float>& model, const StepLayout& s,
                                              std::size_t index) {
  const Index k = s.gemm.k, n = s.gemm.n;
  switch (s.kind) {
    case StepKind::Stem: return {model.stem.weight().data(), bias_of(model.stem), k, n};
    case StepKind::DSConv: {
      const auto& pointwise = model.blocks[index - 1].pointwise;
      return {pointwise.weight().data(), bias_of(pointwise), k, n};
    }
    case StepKind::Classifier:
      if (const Dense<float>* dense = model.dense_head()) return {dense->weight().data(), bias_of(*dense), k, n};
      return {model.conv_head()->weight().data(), bias_of(*model.conv_head()), k, n};
    default: return {};
  }
}

inline DSConvStep make_dsconv_step(const DSConv<float>& block, const StepLayout& s, Activation activation) {
  DSConvStep step;
  step.io = s.io, step.window = s.window;
  step.band_rows = s.band_rows, step.mid_stride = s.mid_stride;
  step.split_panels = s.sharing == StepSharing::SplitPanels;
  const auto& dw = block.depthwise.weight().values();
  step.depthwise_weights = runtime::HugePageBuffer(dw.size());
  std::copy(dw.data(), dw.data() + dw.size(), step.depthwise_weights.data());
  step.depthwise_bias = runtime::HugePageBuffer(static_cast<std::size_t>(s.io.in.c));  // zeros
  if (const float* bias = bias_of(block.depthwise)) std::copy(bias, bias + s.io.in.c, step.depthwise_bias.data());
  step.activation = activation;
  return step;
}

// Step `index` of `layout` over the folded `model`, with its packed GEMM and prefetching.
inline PlanStep make_step(const MobileNetV1<float>& model, const StepLayout& s, std::size_t index,
                          kernels::PackedGemmWeights gemm, const StepPrefetch& prefetch) {
  const Activation activation = model.config().activation;
  switch (s.kind) {
    case StepKind::Stem:
      return StemStep{index, s.io, s.window, s.band_rows, s.direct, std::move(gemm), activation, prefetch};
    case StepKind::DSConv: {
      DSConvStep step = make_dsconv_step(model.blocks[index - 1], s, activation);
      step.index = index, step.gemm = std::move(gemm), step.prefetch = prefetch;
      return step;
    }
    case StepKind::Pool: return PoolStep{s.io, s.window};
    case StepKind::Classifier: return ClassifierStep{index, s.io, std::move(gemm)};
    case StepKind::Softmax: return SoftmaxStep{s.io};
  }
  return SoftmaxStep{s.io};
}

}  // namespace detail

class Session;

// The compiled model, immutable once built: BatchNorm folded, every GEMM's weights packed
// into one block, the steps and the arena's layout fixed for one PlanOptions. Any number of
// threads may read one at once (const members only, nothing mutable), so one copy of the
// weights serves every Session created over it.
class PackedModel {
 public:
  // Throws ConfigError for options it cannot honour.
  static std::shared_ptr<const PackedModel> create(const MobileNetV1<float>& model, const PlanOptions& options = {}) {
    return std::make_shared<PackedModel>(model, options);
  }
  explicit PackedModel(const MobileNetV1<float>& model, const PlanOptions& options = {})
      : options_(detail::resolved_plan_options(options)), name_(model.name()), input_(model.input_shape(1)),
        output_(model.output_shape(1)) {
    if (!kernels::isa_supported(options_.isa))
      throw ConfigError(detail::concat("Plan: this machine cannot run instruction set ",
                                       kernels::isa_name(options_.isa)));
    build(model);
  }

  // The packed weights point into weights_: a PackedModel stays where it was built.
  PackedModel(const PackedModel&) = delete;
  PackedModel& operator=(const PackedModel&) = delete;

  // N x R x R x C_in for N <= batch
  Shape input_shape(Index batch = 1) const { return Shape(batch, input_.h, input_.w, input_.c); }
  // N x 1 x 1 x classes (or the pooled features for a model without classifier)
  Shape output_shape(Index batch = 1) const { return Shape(batch, output_.h, output_.w, output_.c); }
  Index batch() const { return options_.batch; }
  // Threads that run one inference (PlanOptions::threads, with 0 resolved to one per core);
  // every Session over this model runs on that many.
  int threads() const { return options_.threads; }
  kernels::Isa isa() const { return options_.isa; }
  const std::string& name() const { return name_; }
  // The options with threads resolved, and the tuning used.
  const PlanOptions& options() const { return options_; }
  // Every decision the plan made (model/plan/layout.hpp).
  const PlanLayout& layout() const { return layout_; }
  // Bytes of the folded, packed weights: held once, however many sessions run them.
  Index weight_bytes() const { return layout_.weight_bytes(); }
  // Bytes of the arena each Session over this model allocates (Session::arena_bytes()).
  Index arena_bytes() const { return layout_.arena.bytes(); }
  // The options, the detected caches, the tuning and each step's layout, as text.
  std::string describe() const { return describe_plan(name_, layout_, kernels::cpu_caches()); }

  // What each step is, for profiling and benchmarks (bench/bench_layers.cpp). Counts are for
  // a batch of `batch` images; bytes are the activations read and written plus the weights.
  struct StepInfo {
    std::string name;
    Index multiply_adds = 0;
    Index bytes = 0;
    bool per_image = false;  // run image by image at batch > 1 (StepLayout::per_image)
  };
  std::vector<StepInfo> step_info(Index batch = 1) const {
    std::vector<StepInfo> info;
    for (const StepLayout& s : layout_.steps) {
      StepInfo i{s.name, 0, Index(sizeof(float)) * batch * (s.io.in.size() + s.io.out.size()) + s.weight_bytes(),
                 s.per_image};
      if (s.gemm.k > 0) i.multiply_adds = batch * s.io.out.pixels() * s.gemm.k * s.gemm.n;
      if (s.kind == StepKind::DSConv) i.multiply_adds += batch * s.io.out.pixels() * s.io.in.c * 9;
      info.push_back(i);
    }
    return info;
  }

 private:
  friend class Session;  // runs the steps; reads nothing else

  void build(const MobileNetV1<float>& unfolded) {
    // BatchNorm folded into every convolution (a copy; a folded model stays as it is).
    const MobileNetV1<float> model = fold_batch_norm(unfolded);
    layout_ = plan_layout(model, options_);
    const std::size_t count = layout_.steps.size();
    // Every layer's packed weights in one block, on huge pages where the OS gives them.
    weights_ = runtime::HugePageBuffer(static_cast<std::size_t>(layout_.weight_floats));
    std::vector<kernels::PackedGemmWeights> gemms(count);
    std::vector<const kernels::PackedGemmWeights*> packed(count, nullptr);
    for (std::size_t i = 0; i < count; ++i) {
      const StepLayout& s = layout_.steps[i];
      if (s.gemm.k == 0) continue;
      gemms[i] = detail::packed_gemm(model, s, i);
      assert(gemms[i].floats() == s.gemm.floats() && gemms[i].bytes() == s.gemm.bytes());
      gemms[i].move_to(weights_.data() + s.weight_offset);
      packed[i] = &gemms[i];
    }
    const PrefetchPlan prefetch(layout_, packed);
    steps_.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
      steps_.push_back(detail::make_step(model, layout_.steps[i], i, std::move(gemms[i]), prefetch.step(i)));
  }

  PlanOptions options_;  // threads resolved (never 0)
  std::string name_;
  Shape input_, output_;  // one image
  PlanLayout layout_;
  runtime::HugePageBuffer weights_;  // every step's packed GEMM weights (PackedGemmWeights::move_to)
  std::vector<PlanStep> steps_;
};

// One inference at a time over a shared PackedModel: the activations' arena (with each
// thread's scratch), the work counters and the threads that run it. It costs the arena
// (arena_bytes()), not the weights, so a server gives each request thread its own.
// Calls on one session from several threads are serialised (one arena).
class Session {
 public:
  // Runs on a pool of its own with model->threads() threads, or on `pool`, which must have
  // that many. A pool runs one inference at a time, so sessions sharing a pool are serialised
  // on it: each run waits for the one in progress (use the pool for nothing else meanwhile).
  // Throws ConfigError for a null model or a pool of another size, Error when the system
  // refuses a thread.
  explicit Session(std::shared_ptr<const PackedModel> model, std::shared_ptr<runtime::ThreadPool> pool = nullptr)
      : model_(checked(std::move(model))),
        pool_(pool ? checked(std::move(pool), model_->threads())
                   : std::make_shared<runtime::ThreadPool>(model_->threads())),
        run_mutex_(detail::run_lock(pool_.get())),
        arena_(static_cast<std::size_t>(model_->layout_.arena.floats)),
        counters_(std::make_unique<runtime::GuidedCounter[]>(2 * model_->steps_.size() *
                                                              std::size_t(model_->batch()))) {}

  // A moved-from session may only be destroyed or assigned to.
  Session(Session&&) = default;
  Session& operator=(Session&&) = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::shared_ptr<const PackedModel>& model() const { return model_; }
  const std::shared_ptr<runtime::ThreadPool>& pool() const { return pool_; }
  Shape input_shape(Index batch = 1) const { return model_->input_shape(batch); }
  Shape output_shape(Index batch = 1) const { return model_->output_shape(batch); }
  Index batch() const { return model_->batch(); }
  int threads() const { return pool_->threads(); }
  kernels::Isa isa() const { return model_->isa(); }
  // Bytes of the preallocated activations (ping-pong buffers, pooled features, per-thread
  // scratch for depthwise bands and the stem's im2col): what a session adds to its model.
  Index arena_bytes() const { return Index(arena_.size() * sizeof(float)); }
  // The model's plan as text (PackedModel::describe).
  std::string describe() const { return model_->describe(); }

  // in: N x R x R x C_in (N <= batch)  ->  out: output_shape(N)
  // Allocates nothing (error messages are built only when thrown). Gives bit for bit what a
  // Plan with the model's options gives.
  void run(TensorView<const float> in, TensorView<float> out) {
    check_run_shapes(in.shape(), out.shape());
    std::lock_guard<std::mutex> lock(*run_mutex_);
    batch_ = in.shape().n;
    input_data_ = in.data();
    output_data_ = out.data();
    const StepContext context = step_context();
    const std::vector<PlanStep>& steps = model_->steps_;
    const std::size_t per_image_steps = model_->layout_.per_image_steps;
    for (std::size_t i = 0; i < steps.size(); ++i) reset_counters(i);
    auto job = [this, &context, &steps, per_image_steps](int thread) {
      // The first per_image_steps steps image by image, then the rest over the whole batch.
      for (Index image = 0; per_image_steps > 0 && image < batch_; ++image)
        for (std::size_t i = 0; i < per_image_steps; ++i) {
          run_plan_step(steps[i], context, thread, image, image + 1);
          pool_->barrier();
        }
      for (std::size_t i = per_image_steps; i < steps.size(); ++i) {
        run_plan_step(steps[i], context, thread, 0, batch_);
        if (i + 1 < steps.size()) pool_->barrier();
      }
    };
    pool_->run(job);
  }

  // Runs step `index` alone, on all threads, over the tensors of the last run() (which must
  // have happened): for timing one layer in place.
  void run_step(std::size_t index) {
    const std::vector<PlanStep>& steps = model_->steps_;
    if (index >= steps.size() || !input_data_)
      throw ConfigError(detail::concat(model_->name_, ": run_step(", index, ") needs a step index below ",
                                       steps.size(), " and a run() before it"));
    std::lock_guard<std::mutex> lock(*run_mutex_);
    reset_counters(index);
    const StepContext context = step_context();
    const bool per_image = model_->layout_.steps[index].per_image;
    auto job = [this, &context, &steps, index, per_image](int thread) {
      if (!per_image) return run_plan_step(steps[index], context, thread, 0, batch_);
      for (Index image = 0; image < batch_; ++image) {
        run_plan_step(steps[index], context, thread, image, image + 1);
        if (image + 1 < batch_) pool_->barrier();
      }
    };
    pool_->run(job);
  }

  // Same as run(), allocating the output.
  Tensor<float> predict(const Tensor<float>& images) {
    Tensor<float> out(output_shape(images.shape().n));
    run(images.view(), out.view());
    return out;
  }

 private:
  static std::shared_ptr<const PackedModel> checked(std::shared_ptr<const PackedModel> model) {
    if (!model) throw ConfigError("Session: no model (a null PackedModel)");
    return model;
  }
  static std::shared_ptr<runtime::ThreadPool> checked(std::shared_ptr<runtime::ThreadPool> pool, int threads) {
    if (pool->threads() != threads)
      throw ConfigError(detail::concat("Session: the model was packed for ", threads,
                                       " threads, the pool given has ", pool->threads()));
    return pool;
  }

  // Throws ShapeError unless `in` is a batch of at most batch() images of the model's input
  // size and `out` the output shape for it.
  void check_run_shapes(const Shape& in, const Shape& out) const {
    const PackedModel& m = *model_;
    if (!in.valid()) check_shape(in, m.name_ + ": plan input");  // throws
    if (in != input_shape(in.n) || in.n > m.options_.batch)
      throw ShapeError(detail::concat(m.name_, ": plan expects input [N, ", m.input_.h, ", ", m.input_.w, ", ",
                                      m.input_.c, "] with N <= ", m.options_.batch, " (NHWC), got ", in.str()));
    if (out != output_shape(in.n))
      throw ShapeError(detail::concat(m.name_, ": plan output should have shape ", output_shape(in.n).str(),
                                      ", got ", out.str()));
  }

  // The current run's tensors, arena and counters, for the steps.
  StepContext step_context() {
    StepContext c;
    c.arena = arena_.data();  // HugePageBuffer starts on a cache line at least
    c.arena_layout = model_->layout_.arena;
    c.input = input_data_, c.output = output_data_;
    c.batch = batch_;
    c.threads = pool_->threads();
    c.isa = model_->isa();
    c.pool = pool_.get();
    c.counters = counters_.get();
    c.max_batch = model_->batch();
    c.gemm_blocking = model_->layout_.gemm_blocking;
    return c;
  }

  // Every work counter of step `index` (each image, both phases), before a run.
  void reset_counters(std::size_t index) {
    const StepContext c = step_context();
    for (Index image = 0; image < model_->batch(); ++image)
      for (int phase = 0; phase < 2; ++phase) c.counter(index, image, phase).reset();
  }

  std::shared_ptr<const PackedModel> model_;
  std::shared_ptr<runtime::ThreadPool> pool_;
  std::shared_ptr<std::mutex> run_mutex_;  // the pool's (detail::run_lock)
  runtime::HugePageBuffer arena_;  // activations and scratch (ArenaLayout)
  std::unique_ptr<runtime::GuidedCounter[]> counters_;
  // The current run's batch and tensors (set under run_mutex_ before the threads start).
  Index batch_ = 0;
  const float* input_data_ = nullptr;
  float* output_data_ = nullptr;
};

// A PackedModel with one Session of its own: the model compiled for one caller at a time.
class Plan : public Session {
 public:
  using StepInfo = PackedModel::StepInfo;

  // Throws ConfigError for options it cannot honour.
  explicit Plan(const MobileNetV1<float>& model, const PlanOptions& options = {})
      : Session(PackedModel::create(model, options)) {}

  // Bytes of the folded, packed weights.
  Index weight_bytes() const { return model()->weight_bytes(); }
  std::vector<StepInfo> step_info(Index batch = 1) const { return model()->step_info(batch); }
};

}  // namespace mobilenet
