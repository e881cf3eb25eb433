// SPDX-License-Identifier: MIT
#pragma once
// The execution plan: MobileNetV1 compiled once for an input size, a batch and a thread count.
//
//   mobilenet::Plan plan(model, {/*batch=*/1, /*threads=*/2});
//   plan.run(images, probabilities);               // allocates nothing
//   mobilenet::Tensor<float> p = plan.predict(images);
//
// Several threads over one copy of the weights (docs/sessions.md):
//
//   auto packed = mobilenet::PackedModel::create(model, {/*batch=*/1, /*threads=*/1});
//   mobilenet::Session session(packed);            // one per thread: an arena and its threads
//   session.run(images, probabilities);
//
// A PackedModel is what compiling gives (folded, packed weights and the steps), immutable and
// shared; a Session is what one inference writes (the arena, the work counters) and the
// threads that run it. A Plan is a PackedModel with a Session of its own.
//
// At build time BatchNorm is folded into the convolutions (model/fold.hpp), every GEMM's weights are packed
// for the micro-kernels into one block, and all activations get their place in one arena; both
// are on 2 MB pages where Linux gives them (runtime/huge_page_buffer.hpp: on 4 KB pages a
// whole 1.0/224 inference measured about 4% slower). What runs is a
// flat list of steps: the stem (a direct convolution on AVX-512, im2col + GEMM elsewhere),
// thirteen fused DSConv blocks, the pool, the classifier (a GEMM with M = batch) and the softmax.
// Activations with 256, 512 or 1024 channels are stored a cache line wider per pixel
// (kernels::padded_pixel_stride), which keeps the depthwise kernels clear of L1 set conflicts.
//
// A DSConv block runs band by band: the depthwise result for a few output rows goes to a
// per-thread scratch buffer (sized to stay in L2), and the pointwise GEMM reads it from there
// straight into the block's output. The depthwise output never travels to memory, and a
// block needs one barrier instead of two (the small late blocks on several threads take two;
// see below).
//
// Threads share each step out while it runs (runtime::GuidedCounter: chunks that shrink
// towards the end, so a thread the OS holds up takes fewer of them instead of keeping the other
// waiting at the barrier): bands of output rows for the large early layers; for the small late
// ones the depthwise rows of the whole batch first, then pairs of the GEMM's 32-column weight
// panels, so that each thread reads only the weights of its panels. Bands are taken from both
// ends of the image, even threads from the top and odd ones from the bottom, so each thread
// mostly reads what it wrote the step before (it matters most when the cores share no cache;
// the measurements are in docs/performance.md). A single thread takes
// every other step from the bottom up, so that each step starts on the rows the one before
// wrote last (see takes_from_back). The plan lives in model/
// since it is built from the model's layers; the threads are in runtime/thread_pool.hpp.

#include <algorithm>
#include <cassert>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/activation.hpp"
#include "mobilenet/kernels/conv2d_direct.hpp"
#include "mobilenet/kernels/conv2d_im2col.hpp"
#include "mobilenet/kernels/depthwise3x3.hpp"
#include "mobilenet/kernels/gemm.hpp"
#include "mobilenet/kernels/pooling_reference.hpp"
#include "mobilenet/model/fold.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/runtime/huge_page_buffer.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {

struct PlanOptions {
  Index batch = 1;   // the largest batch run() accepts
  int threads = 1;   // threads that run one inference, the caller included; 0: one per core
  kernels::Isa isa = kernels::best_isa();
};

namespace plan_detail {

// A layer's bias, or nullptr when it has none (PackedGemmWeights then uses zeros).
template <typename Conv>
const float* bias_of(const Conv& conv) {
  return conv.has_bias() ? conv.bias().data() : nullptr;
}

// Rounds a float count up to a whole cache line (16 floats).
inline Index cache_lines(Index floats) { return (floats + 15) / 16 * 16; }

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

}  // namespace plan_detail

class Session;

// The compiled model, immutable once built: BatchNorm folded, every GEMM's weights packed,
// the steps and the arena's layout fixed for one PlanOptions (batch, threads, instruction
// set). Any number of threads may read one at once (const members only, nothing mutable), so
// one copy of the weights serves every Session created over it.
class PackedModel {
 public:
  // Throws ConfigError for options it cannot honour.
  static std::shared_ptr<const PackedModel> create(const MobileNetV1<float>& model, const PlanOptions& options = {}) {
    return std::make_shared<PackedModel>(model, options);
  }
  explicit PackedModel(const MobileNetV1<float>& model, const PlanOptions& options = {})
      : options_(checked(options)), name_(model.name()), input_(model.input_shape(1)),
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
  // Bytes of the folded, packed weights: held once, however many sessions run them.
  Index weight_bytes() const {
    Index total = 0;
    for (const Step& s : steps_)
      total += s.gemm.bytes() + Index((s.depthwise_weights.size() + s.depthwise_bias.size()) * sizeof(float));
    return total;
  }
  // Bytes of the arena each Session over this model allocates (Session::arena_bytes()).
  Index arena_bytes() const { return layout_.floats * Index(sizeof(float)); }

  // What each step is, for profiling and benchmarks (bench/bench_layers.cpp). Counts are for
  // a batch of `batch` images; bytes are the activations read and written plus the weights.
  struct StepInfo {
    std::string name;
    Index multiply_adds = 0;
    Index bytes = 0;
    bool per_image = false;  // run image by image at batch > 1 (see Step::per_image)
  };
  std::vector<StepInfo> step_info(Index batch = 1) const {
    std::vector<StepInfo> info;
    for (const Step& s : steps_) {
      StepInfo i{s.name, 0, Index(sizeof(float)) * batch * (s.in.size() + s.out.size()), s.per_image};
      i.bytes += s.gemm.bytes() + Index(sizeof(float) * (s.depthwise_weights.size() + s.depthwise_bias.size()));
      if (s.kind == Kind::Stem || s.kind == Kind::DSConv || s.kind == Kind::Classifier)
        i.multiply_adds = batch * s.out.pixels() * s.gemm.k() * s.gemm.n();
      if (s.kind == Kind::DSConv) i.multiply_adds += batch * s.out.pixels() * s.in.c * 9;
      info.push_back(i);
    }
    return info;
  }

 private:
  friend class Session;  // runs the steps; reads nothing else

  // Where a step reads and writes.
  enum class Buffer { Input, Ping, Pong, Handoff, Pooled, Output };
  enum class Kind { Stem, DSConv, Pool, Classifier, Softmax };

  struct Step {
    std::string name;
    Kind kind = Kind::Stem;
    Buffer from = Buffer::Input, to = Buffer::Output;
    Shape in, out;  // one image
    // Floats from one image to the next in `from` and `to`; 0 where the buffer holds one image
    // that each image reuses (the per-image steps' ping-pong buffers).
    Index in_image = 0, out_image = 0;
    // Runs image by image at batch > 1: the early blocks, whose activations (3.2 MB an image
    // at 1.0/224) outweigh their weights. A batch of them layer by layer would send N times
    // that through memory; image by image it stays in the caches. The late blocks, whose weights
    // outweigh their activations, run over the whole batch, which reads their weights once.
    bool per_image = false;
    // Floats between neighbouring pixels of the input, the depthwise band and the output.
    Index in_stride = 0, mid_stride = 0, out_stride = 0;
    // Stem and depthwise windows (3x3).
    Index stride = 1, pad_top = 0, pad_left = 0;
    Activation activation = Activation::None;
    std::vector<float> depthwise_weights, depthwise_bias;
    kernels::PackedGemmWeights gemm;  // stem (im2col rows), pointwise, classifier
    Activation gemm_activation = Activation::None;
    Index band_rows = 1;         // output rows per band (stem, DSConv)
    // Threads split the GEMM's columns instead of the rows: first the depthwise output of the
    // whole batch goes to a buffer all threads share, then each thread takes pairs of panels.
    bool split_panels = false;
    std::size_t index = 0;       // in steps_ (its work counters: see Session::counter())
    Window2D stem_window;        // Stem: its 3x3 window
    bool direct = false;         // Stem: conv2d_direct_rows over padded rows instead of im2col
    Window2D pool_window;        // Pool: k x k, or kernel 0 for global
    // What the step's GEMM prefetches for the step after it (kernels::GemmPrefetch), which
    // would otherwise come from DRAM while nothing else runs: a share of the next GEMM's first
    // weights (all of them for the classifier and above kPrefetchWholeAboveBytes).
    kernels::GemmPrefetch next_weights;
    // DSConv: each band's GEMM prefetches the input rows of the thread's next band instead
    // (next_band_input; see kPrefetchInputAboveBytes). The stem always does.
    bool prefetch_input = false;
  };

  // A band's depthwise output takes between these many bytes of scratch: small enough to stay
  // in L2 (1 MB on many current x86 cores) beside the weight block the GEMM streams, and for layers with large
  // weights as large as that allows, since each band streams all the weights again (measured
  // on 1.0/224: 128 KB bands suit the early layers, dsconv13 wants its whole 7x7 image).
  static constexpr Index kMinBandBytes = 128 * 1024;
  static constexpr Index kMaxBandBytes = 512 * 1024;
  // Blocks with fewer output pixels per image than this split the GEMM's columns (at 1.0/224
  // the 7x7 ones; the 14x14 ones ran 6% faster on two threads split by rows, each thread
  // streaming all of their 0.5-1 MB of weights, than split by panels).
  static constexpr Index kSplitPanelsBelowPixels = 100;
  // At batch > 1 the early blocks run image by image while their batch's output would take
  // more than this (it would leave L2 and most of the L3 this machine gives one process, about
  // 8 MB) and outweighs their weights; below it a barrier per image costs more than it saves.
  static constexpr Index kPerImageAboveBytes = 2 * 1024 * 1024;
  // The step before a GEMM whose weights are larger than this (more than L2 holds) prefetches
  // all of them, not just the first block: they spill from L2 to L3, where the GEMM finds them
  // instead of in DRAM. At 1.0/224 that is dsconv12 (2 MB) and dsconv13 (4 MB); smaller
  // weights gain nothing from it.
  static constexpr Index kPrefetchWholeAboveBytes = 1024 * 1024;
  // DSConv blocks whose input image is larger than this (more than L2 holds) prefetch their
  // next band's input rows rather than the next step's weights, which for these early blocks
  // are small: the rows were written a whole step ago and have left L2. At 1.0/224 that is
  // dsconv1-4 (1.6-3.2 MB inputs). Later blocks keep prefetching their next weights, which
  // they need more.
  static constexpr Index kPrefetchInputAboveBytes = 1024 * 1024;

  // The options with `threads` resolved (0: one per core).
  static PlanOptions checked(const PlanOptions& o) {
    detail::require_at_least("Plan", "batch", o.batch, 1);
    detail::require_at_least("Plan", "threads", o.threads, 0);
    PlanOptions resolved = o;
    resolved.threads = resolved_threads(o.threads);
    return resolved;
  }
  static int resolved_threads(int threads) {
    if (threads > 0) return threads;
    const unsigned cores = std::thread::hardware_concurrency();
    return cores > 0 ? static_cast<int>(cores) : 1;
  }

  // Output rows per band when a row of the band's scratch holds `row_floats` floats and the
  // GEMM's packed weights take `weight_bytes`.
  static Index band_rows_for(Index row_floats, Index weight_bytes) {
    const Index bytes = std::min(kMaxBandBytes, std::max(kMinBandBytes, weight_bytes));
    return std::max<Index>(1, bytes / Index(sizeof(float)) / row_floats);
  }


  // Where each buffer starts in a session's arena, in floats (see build()).
  struct ArenaLayout {
    Index ping = 0, pong = 0, handoff = 0, pooled = 0, shared = 0, scratch = 0, scratch_stride = 0;
    Index floats = 0;  // the whole arena
  };


  void build(const MobileNetV1<float>& unfolded) {
    // BatchNorm folded into every convolution (a copy; a folded model stays as it is).
    const MobileNetV1<float> model = fold_batch_norm(unfolded);
    using plan_detail::bias_of;
    const Activation act = model.config().activation;
    Index scratch = 0, shared = 0;

    // Stem: 3x3 convolution as im2col rows of K = 9 * C_in times the HWIO weights (K x C_out).
    Step stem;
    stem.kind = Kind::Stem;
    stem.name = "stem";
    stem.in = input_;
    stem.out = model.stem.output_shape(input_);
    const Window2D sw = model.stem.window(input_);
    stem.stride = sw.stride, stem.pad_top = sw.rows.pad_before, stem.pad_left = sw.cols.pad_before;
    stem.stem_window = sw;
    const Index stem_k = 9 * input_.c;
    stem.gemm = kernels::PackedGemmWeights(model.stem.weight().data(), bias_of(model.stem), stem_k, stem.out.c);
    stem.band_rows = std::min(stem.out.h, band_rows_for(stem.out.w * stem_k, stem.gemm.bytes()));
    stem.direct = kernels::direct_conv_available(options_.isa, stem.gemm);
    scratch = std::max(scratch, stem.direct ? kernels::padded_rows_count(sw, 0, stem.band_rows) *
                                                  kernels::padded_row_width(sw) * input_.c
                                            : stem.band_rows * stem.out.w * stem_k);
    stem.gemm_activation = act;
    stem.in_stride = input_.c;
    stem.out_stride = model.blocks.empty() ? stem.out.c : kernels::padded_pixel_stride(stem.out.c);
    Index stride = stem.out_stride;
    Shape x = stem.out;
    steps_.push_back(std::move(stem));

    for (const auto& block : model.blocks) {
      Step s;
      s.kind = Kind::DSConv;
      s.name = block.name();
      s.in = x;
      const Shape mid = block.depthwise_output_shape(x);
      s.out = block.output_shape(x);
      const Window2D w = block.depthwise.window(x);
      s.stride = w.stride, s.pad_top = w.rows.pad_before, s.pad_left = w.cols.pad_before;
      s.activation = act;
      const auto& dw = block.depthwise.weight().values();
      s.depthwise_weights.assign(dw.data(), dw.data() + dw.size());
      s.depthwise_bias.assign(static_cast<std::size_t>(x.c), 0.0f);
      if (const float* bias = bias_of(block.depthwise)) std::copy(bias, bias + x.c, s.depthwise_bias.begin());
      s.gemm = kernels::PackedGemmWeights(block.pointwise.weight().data(), bias_of(block.pointwise), x.c,
                                          s.out.c);
      s.gemm_activation = act;
      s.split_panels = options_.threads > 1 && mid.h * mid.w < kSplitPanelsBelowPixels &&
                       s.gemm.panels() >= options_.threads;
      s.in_stride = stride;
      s.mid_stride = kernels::padded_pixel_stride(mid.c);
      // The last block's output is dense: the pool reads it.
      const bool last = &block == &model.blocks.back();
      s.out_stride = stride = last ? s.out.c : kernels::padded_pixel_stride(s.out.c);
      s.band_rows = std::min(mid.h, band_rows_for(mid.w * s.mid_stride, s.gemm.bytes()));
      s.prefetch_input = !s.split_panels && x.h * x.w * s.in_stride * Index(sizeof(float)) > kPrefetchInputAboveBytes;
      scratch = std::max(scratch, s.band_rows * mid.w * s.mid_stride);
      if (s.split_panels) shared = std::max(shared, mid.h * mid.w * s.mid_stride);
      x = s.out;
      steps_.push_back(std::move(s));
    }

    // Which steps run image by image, then where each step reads and writes.
    per_image_steps_ = 0;
    for (const Step& s : steps_) {
      const Index out_bytes = s.out.h * s.out.w * s.out_stride * Index(sizeof(float));
      if (options_.batch == 1 || s.split_panels || out_bytes <= s.gemm.bytes() ||
          options_.batch * out_bytes <= kPerImageAboveBytes)
        break;
      ++per_image_steps_;
    }
    Buffer at = Buffer::Input;
    Index at_image = input_.size();
    Index largest = 0, handoff = 0;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      Step& s = steps_[i];
      s.per_image = i < per_image_steps_;
      s.from = at, s.in_image = at_image;
      const Index out_floats = s.out.h * s.out.w * s.out_stride;
      s.to = (at == Buffer::Ping ? Buffer::Pong : Buffer::Ping);
      s.out_image = s.per_image ? 0 : out_floats;
      if (i + 1 == per_image_steps_) {  // the last per-image step hands the batch on
        s.to = Buffer::Handoff;
        s.out_image = handoff = out_floats;
      } else {
        largest = std::max(largest, s.per_image ? out_floats : options_.batch * out_floats);
      }
      at = s.to, at_image = s.out_image;
    }

    const bool has_classifier = model.has_classifier();
    Step pool;
    pool.kind = Kind::Pool;
    pool.name = "pool";
    pool.in = x;
    pool.out = model.pool.output_shape(x);
    pool.from = at;
    pool.to = has_classifier ? Buffer::Pooled : Buffer::Output;
    pool.pool_window = model.pool.is_global() ? Window2D{} : model.pool.window(x);
    const Shape pooled = pool.out;
    steps_.push_back(std::move(pool));

    if (has_classifier) {
      Step head;
      head.kind = Kind::Classifier;
      head.name = "classifier";
      head.in = pooled;
      head.out = output_;
      head.from = Buffer::Pooled;
      const Index k = pooled.h * pooled.w * pooled.c;
      if (const Dense<float>* dense = model.dense_head())
        head.gemm = kernels::PackedGemmWeights(dense->weight().data(), bias_of(*dense), k, output_.c);
      else
        head.gemm = kernels::PackedGemmWeights(model.conv_head()->weight().data(), bias_of(*model.conv_head()),
                                               k, output_.c);
      head.split_panels = true;
      steps_.push_back(std::move(head));
      if (model.config().softmax) {
        Step softmax;
        softmax.kind = Kind::Softmax;
        softmax.name = "softmax";
        softmax.in = softmax.out = output_;
        softmax.from = softmax.to = Buffer::Output;
        steps_.push_back(std::move(softmax));
      }
    }

    // Arena: two activation buffers, the per-image steps' hand-off to the batched ones, the
    // pooled features, the late blocks' shared depthwise output and one scratch per thread,
    // each starting on a cache line.
    const Index b = options_.batch;
    using plan_detail::cache_lines;
    layout_.ping = 0;
    layout_.pong = cache_lines(largest);
    layout_.handoff = layout_.pong + cache_lines(largest);
    layout_.pooled = layout_.handoff + cache_lines(b * handoff);
    layout_.shared = layout_.pooled + cache_lines(b * pooled.size());
    layout_.scratch = layout_.shared + cache_lines(b * shared);
    layout_.scratch_stride = cache_lines(scratch);
    layout_.floats = layout_.scratch + layout_.scratch_stride * options_.threads;
    for (std::size_t i = 0; i < steps_.size(); ++i) steps_[i].index = i;
    // Every layer's packed weights in one block, on huge pages where the OS gives them.
    Index weight_floats = 0;
    for (const Step& s : steps_) weight_floats += cache_lines(s.gemm.floats());
    weights_ = runtime::HugePageBuffer(static_cast<std::size_t>(weight_floats));
    float* packed = weights_.data();
    for (Step& s : steps_) {
      if (s.gemm.floats() == 0) continue;
      s.gemm.move_to(packed);
      packed += cache_lines(s.gemm.floats());
    }
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      Step& s = steps_[i];
      if (s.kind != Kind::DSConv || s.prefetch_input) continue;  // (the stem prefetches its input)
      for (std::size_t j = i + 1; j < steps_.size() && !s.next_weights.begin; ++j) {
        const kernels::PackedGemmWeights& next = steps_[j].gemm;
        if (next.floats() == 0) continue;
        const bool whole = steps_[j].kind == Kind::Classifier || next.bytes() > kPrefetchWholeAboveBytes;
        s.next_weights = whole
                             ? kernels::GemmPrefetch{next.slice(0, 0), next.floats() * Index(sizeof(float))}
                             : kernels::first_weights(next);
      }
    }
  }

  PlanOptions options_;  // threads resolved (never 0)
  std::string name_;
  Shape input_, output_;  // one image
  std::vector<Step> steps_;
  runtime::HugePageBuffer weights_;  // every step's packed GEMM weights (PackedGemmWeights::move_to)
  ArenaLayout layout_;
  std::size_t per_image_steps_ = 0;
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
        run_mutex_(plan_detail::run_lock(pool_.get())),
        isa_(model_->isa()),
        layout_(model_->layout_),
        arena_(static_cast<std::size_t>(model_->layout_.floats)),
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
  kernels::Isa isa() const { return isa_; }
  // Bytes of the preallocated activations (ping-pong buffers, pooled features, per-thread
  // scratch for depthwise bands and the stem's im2col): what a session adds to its model.
  Index arena_bytes() const { return Index(arena_.size() * sizeof(float)); }

  // in: N x R x R x C_in (N <= batch)  ->  out: output_shape(N)
  // Allocates nothing. Gives bit for bit what a Plan with the model's options gives.
  void run(TensorView<const float> in, TensorView<float> out) {
    const PackedModel& m = *model_;
    check_shape(in.shape(), m.name_ + ": plan input");
    if (in.shape() != input_shape(in.shape().n) || in.shape().n > m.options_.batch)
      throw ShapeError(detail::concat(m.name_, ": plan expects input [N, ", m.input_.h, ", ", m.input_.w, ", ",
                                      m.input_.c, "] with N <= ", m.options_.batch, " (NHWC), got ",
                                      in.shape().str()));
    if (out.shape() != output_shape(in.shape().n))
      throw ShapeError(detail::concat(m.name_, ": plan output should have shape ",
                                      output_shape(in.shape().n).str(), ", got ", out.shape().str()));
    std::lock_guard<std::mutex> lock(*run_mutex_);
    batch_ = in.shape().n;
    input_data_ = in.data();
    output_data_ = out.data();
    const std::vector<Step>& steps = m.steps_;
    const std::size_t per_image_steps = m.per_image_steps_;
    for (const Step& s : steps) reset_counters(s);
    auto job = [this, &steps, per_image_steps](int thread) {
      // The first per_image_steps steps image by image (see Step::per_image), then the rest
      // over the whole batch.
      for (Index image = 0; per_image_steps > 0 && image < batch_; ++image)
        for (std::size_t i = 0; i < per_image_steps; ++i) {
          execute(steps[i], thread, image, image + 1);
          pool_->barrier();
        }
      for (std::size_t i = per_image_steps; i < steps.size(); ++i) {
        execute(steps[i], thread, 0, batch_);
        if (i + 1 < steps.size()) pool_->barrier();
      }
    };
    pool_->run(job);
  }

  // Runs step `index` alone, on all threads, over the tensors of the last run() (which must
  // have happened): for timing one layer in place.
  void run_step(std::size_t index) {
    const std::vector<Step>& steps = model_->steps_;
    if (index >= steps.size() || !input_data_)
      throw ConfigError(detail::concat(model_->name_, ": run_step(", index, ") needs a step index below ",
                                       steps.size(), " and a run() before it"));
    std::lock_guard<std::mutex> lock(*run_mutex_);
    reset_counters(steps[index]);
    auto job = [this, &steps, index](int thread) {
      const Step& s = steps[index];
      if (!s.per_image) return execute(s, thread, 0, batch_);
      for (Index image = 0; image < batch_; ++image) {
        execute(s, thread, image, image + 1);
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
  using Step = PackedModel::Step;
  using Buffer = PackedModel::Buffer;
  using Kind = PackedModel::Kind;

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

  float* arena() { return arena_.data(); }  // HugePageBuffer starts on a cache line at least
  float* buffer(Buffer which) {
    switch (which) {
      case Buffer::Input: return const_cast<float*>(input_data_);  // only ever read
      case Buffer::Ping: return arena() + layout_.ping;
      case Buffer::Pong: return arena() + layout_.pong;
      case Buffer::Handoff: return arena() + layout_.handoff;
      case Buffer::Pooled: return arena() + layout_.pooled;
      case Buffer::Output: return output_data_;
    }
    return nullptr;
  }
  float* scratch(int thread) { return arena() + layout_.scratch + layout_.scratch_stride * thread; }

  // Step s for images [first_image, end_image) (all of the batch, or one for a per-image step).
  void execute(const Step& s, int thread, Index first_image, Index end_image) {
    const int threads = pool_->threads();
    switch (s.kind) {
      case Kind::Stem: return run_stem(s, thread, threads, first_image, end_image);
      case Kind::DSConv: return run_dsconv(s, thread, threads, first_image, end_image);
      case Kind::Pool:
        if (thread == 0) {
          const Shape in(batch_, s.in.h, s.in.w, s.in.c);
          if (s.pool_window.kernel == 0)
            kernels::global_average_pool(buffer(s.from), in, buffer(s.to));
          else
            kernels::average_pool_reference(buffer(s.from), in, s.pool_window, buffer(s.to));
        }
        return;
      case Kind::Classifier:
        for_each_panel_chunk(s, threads, [&](Index p0, Index p1) {
          kernels::gemm_packed_range(buffer(s.from), s.gemm.k(), s.gemm, buffer(s.to), s.gemm.n(), Activation::None,
                                     kernels::GemmRange{0, batch_, p0, p1}, gemm_options());
        });
        return;
      case Kind::Softmax:
        if (thread == 0) kernels::softmax_rows_inplace(buffer(s.to), batch_, s.out.c);
        return;
    }
  }

  // Calls band(image, first_row, end_row) for bands of at most `band_rows` output rows that
  // cover rows [begin, end) of the batch's N * out_h rows, never crossing an image.
  template <typename Band>
  static void for_each_band(Index begin, Index end, Index out_h, Index band_rows, Band&& band) {
    for (Index r = begin; r < end;) {
      const Index image = r / out_h, row = r % out_h;
      const Index rows = std::min({band_rows, out_h - row, end - r});
      band(image, row, row + rows);
      r += rows;
    }
  }

  // The work counter of step s for the images from first_image on, phase 0 or 1.
  runtime::GuidedCounter& counter(const Step& s, Index first_image, int phase) {
    return counters_[(s.index * std::size_t(model_->options_.batch) + std::size_t(first_image)) * 2 + std::size_t(phase)];
  }

  // Every work counter of step s (each image, both phases), before a run.
  void reset_counters(const Step& s) {
    for (Index image = 0; image < model_->options_.batch; ++image)
      for (int phase = 0; phase < 2; ++phase) counter(s, image, phase).reset();
  }

  // Whether `thread` takes the bands of step s from the bottom of the image up.
  // - Several threads: odd threads do, in every step. Then each thread works on the same part
  //   of the image from step to step, and reads mostly rows it wrote itself rather than rows
  //   in another core's cache (see the class comment).
  // - One thread: every other step does, so each step starts on the rows the step before
  //   wrote last, still in L2, instead of on its oldest ones (it matters most for dsconv1
  //   and dsconv2, whose inputs are larger than L2).
  bool takes_from_back(const Step& s, int thread) const {
    return pool_->threads() == 1 ? s.index % 2 == 1 : thread % 2 == 1;
  }

  // The bands of the output rows of images [first_image, end_image) this thread takes from
  // the step's counter, at most band_rows at a time; band(image, first_row, end_row).
  template <typename Band>
  void for_each_band_taken(const Step& s, int phase, Index first_image, Index end_image, Index band_rows,
                           int thread, int threads, Band&& band) {
    runtime::GuidedCounter& work = counter(s, first_image, phase);
    const Index out_h = s.out.h;
    Index begin = 0, end = 0;
    while (work.take((end_image - first_image) * out_h, threads, band_rows, begin, end, takes_from_back(s, thread)))
      for_each_band(begin, end, out_h, band_rows,
                    [&](Index image, Index first, Index last) { band(first_image + image, first, last); });
  }

  // The panels [p0, p1) of s.gemm this thread takes, two at a time or more (the AVX-512
  // micro-kernel's tile covers two panels).
  template <typename Chunk>
  void for_each_panel_chunk(const Step& s, int threads, Chunk&& chunk) {
    const Index pairs = (s.gemm.panels() + 1) / 2;
    Index begin = 0, end = 0;
    while (counter(s, 0, 1).take(pairs, threads, pairs, begin, end))
      chunk(2 * begin, std::min(2 * end, s.gemm.panels()));
  }

  // Where output row `row` of `image` starts in the step's output buffer.
  float* output_row(const Step& s, Index image, Index row) {
    return buffer(s.to) + image * s.out_image + row * s.out.w * s.out_stride;
  }

  void run_stem(const Step& s, int thread, int threads, Index first_image, Index end_image) {
    const Index k = s.gemm.k(), cin = s.in.c;
    float* cols = scratch(thread);
    for_each_band_taken(s, 0, first_image, end_image, s.band_rows, thread, threads, [&](Index image, Index first, Index end) {
      const float* in = buffer(s.from) + image * s.in_image;
      float* out = output_row(s, image, first);
      if (s.direct) {
        kernels::padded_rows(in, s.in, s.stem_window, first, end, cols);
        kernels::conv2d_direct_rows(cols, cin, s.stem_window, first, end, s.gemm, out, s.out_stride,
                                    s.gemm_activation,
                                    gemm_options(next_band_input(s, in, first, end, takes_from_back(s, thread))));
        return;
      }
      // im2col: one row of K = 3 x 3 x C_in values per output pixel of the band.
      kernels::im2col_rows(in, s.in, s.stem_window, first, end, cols);
      kernels::gemm_packed(cols, (end - first) * s.out.w, k, s.gemm, out, s.out_stride, s.gemm_activation,
                           isa_);
    });
  }

  // The kernels' options for this plan's instruction set, prefetching `prefetch`.
  kernels::GemmOptions gemm_options(const kernels::GemmPrefetch& prefetch = {}) const {
    kernels::GemmOptions options;
    options.isa = isa_;
    options.prefetch = prefetch;
    return options;
  }

  // The input rows (of image `in`) of the stem's or a DSConv block's next band: [first,
  // end)'s size again below it, or above it for a thread that takes its bands from the bottom
  // up (for_each_band_taken), for the band before it to prefetch. The stem's image comes from
  // the caller's memory, usually DRAM; for the DSConv blocks see kPrefetchInputAboveBytes.
  kernels::GemmPrefetch next_band_input(const Step& s, const float* in, Index first, Index end, bool upwards) const {
    const Index window = s.kind == Kind::Stem ? s.stem_window.kernel : 3;
    const Index next_first = upwards ? std::max<Index>(0, first - (end - first)) : end;
    const Index next_end = upwards ? first : std::min(s.out.h, end + (end - first));
    if (next_end <= next_first) return {};
    const Index r0 = std::max<Index>(0, next_first * s.stride - s.pad_top);
    const Index r1 = std::min(s.in.h, (next_end - 1) * s.stride - s.pad_top + window);
    if (r1 <= r0) return {};
    const Index row_floats = s.in.w * s.in_stride;
    return {in + r0 * row_floats, (r1 - r0) * row_floats * Index(sizeof(float))};
  }

  // Part [i0, i1) of n equal parts of `whole`, in whole cache lines.
  static kernels::GemmPrefetch share(const kernels::GemmPrefetch& whole, Index i0, Index i1, Index n) {
    const Index lines = whole.bytes / 64;
    const Index first = lines * i0 / n, last = lines * i1 / n;
    return {static_cast<const char*>(whole.begin) + 64 * first, 64 * (last - first)};
  }

  // What the GEMM of a DSConv band [first, end) of `image` prefetches: the input rows of this
  // thread's next band (Step::prefetch_input), or else its share of the next weights.
  kernels::GemmPrefetch band_prefetch(const Step& s, int thread, Index first_image, Index end_image, Index image,
                                      Index first, Index end) {
    if (s.prefetch_input)
      return next_band_input(s, buffer(s.from) + image * s.in_image, first, end, takes_from_back(s, thread));
    const Index row = (image - first_image) * s.out.h + first;
    return share(s.next_weights, row, row + end - first, (end_image - first_image) * s.out.h);
  }

  // Depthwise output rows [first, end) of `image` into `out` (mid_stride floats a pixel).
  void depthwise_band(const Step& s, Index image, Index first, Index end, float* out) {
    kernels::Depthwise3x3Params p{};
    p.input = buffer(s.from) + image * s.in_image;
    p.in_h = s.in.h, p.in_w = s.in.w, p.channels = s.in.c;
    p.weights = s.depthwise_weights.data(), p.bias = s.depthwise_bias.data();
    p.output = out, p.out_h = s.out.h, p.out_w = s.out.w;
    p.stride = s.stride, p.pad_top = s.pad_top, p.pad_left = s.pad_left;
    p.activation = s.activation;
    p.row_begin = first, p.row_end = end;
    p.in_pixel_stride = s.in_stride, p.out_pixel_stride = s.mid_stride;
    kernels::depthwise3x3(p, isa_);
  }

  void run_dsconv(const Step& s, int thread, int threads, Index first_image, Index end_image) {
    if (s.split_panels) {
      // Phase 0: the depthwise output of the whole batch, shared by rows; phase 1: the GEMM
      // over all of it, shared by pairs of panels (each thread reads only its panels' weights).
      float* mid = arena() + layout_.shared;
      const Index pixel_floats = s.out.w * s.mid_stride;
      assert(first_image == 0 && end_image == batch_);
      for_each_band_taken(s, 0, 0, batch_, s.out.h, thread, threads, [&](Index image, Index first, Index end) {
        depthwise_band(s, image, first, end, mid + (image * s.out.h + first) * pixel_floats);
      });
      pool_->barrier();
      for_each_panel_chunk(s, threads, [&](Index p0, Index p1) {
        kernels::gemm_packed_range(mid, s.mid_stride, s.gemm, buffer(s.to), s.out_stride, s.gemm_activation,
                                   kernels::GemmRange{0, batch_ * s.out.h * s.out.w, p0, p1},
                                   gemm_options(share(s.next_weights, p0, p1, s.gemm.panels())));
      });
      return;
    }
    // Band by band: the depthwise rows go to this thread's scratch, which stays in L2, and the
    // pointwise GEMM reads them from there.
    float* band_out = scratch(thread);
    for_each_band_taken(s, 0, first_image, end_image, s.band_rows, thread, threads, [&](Index image, Index first, Index end) {
      depthwise_band(s, image, first, end, band_out);
      const Index pixels = (end - first) * s.out.w;
      kernels::gemm_packed_range(band_out, s.mid_stride, s.gemm, output_row(s, image, first), s.out_stride,
                                 s.gemm_activation, kernels::GemmRange{0, pixels, 0, s.gemm.panels()},
                                 gemm_options(band_prefetch(s, thread, first_image, end_image, image, first, end)));
    });
  }

  std::shared_ptr<const PackedModel> model_;
  std::shared_ptr<runtime::ThreadPool> pool_;
  std::shared_ptr<std::mutex> run_mutex_;  // the pool's (plan_detail::run_lock)
  kernels::Isa isa_ = kernels::Isa::Generic;
  PackedModel::ArenaLayout layout_;  // the model's, kept beside the arena it describes
  runtime::HugePageBuffer arena_;  // activations and scratch (PackedModel::ArenaLayout)
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
