// SPDX-License-Identifier: MIT
// Ours beside XNNPACK (and oneDNN and PyTorch when built with them) in one binary, on
// MobileNetV1 with the same random weights (BatchNorm folded, ReLU6, TF SAME padding, 1x1-conv
// head with softmax), so their ratios come from one run on one machine state. For each alpha /
// resolution / threads / batch the peers are registered first, then ours (scripts/
// bench-peers.sh interleaves the repetitions at random); a table of ratios ends the output.
// Nothing is timed unless every engine agrees with our reference path (peer_check.hpp).
//
//   bench_peers [--peers_quick] [google benchmark flags]
//     --peers_quick   only alpha 1.0 / 224 (skips 0.5/160 and 0.25/128)

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "peer_check.hpp"
#include "xnnpack_mobilenet.hpp"
#if MOBILENET_PEERS_HAVE_ONEDNN
#include "onednn_mobilenet.hpp"
#endif
#if MOBILENET_PEERS_HAVE_TORCH
#include "torch_mobilenet.hpp"
#endif

namespace {

using mobilenet::Index;
using mobilenet::MobileNetV1;
using mobilenet::MobileNetV1Config;
namespace peers = mobilenet::peers;

constexpr unsigned kWeightSeed = 42, kImageSeed = 7;

struct Variant {
  double alpha;
  Index resolution;
  const char* alpha_text;
};

// One model per variant, shared by every benchmark of that variant.
struct Models {
  std::map<std::string, std::unique_ptr<MobileNetV1<float>>> by_name;
  const MobileNetV1<float>& get(const Variant& v) {
    auto& slot = by_name[std::string(v.alpha_text) + "/" + std::to_string(v.resolution)];
    if (!slot) {
      slot = std::make_unique<MobileNetV1<float>>(MobileNetV1Config::tf_slim(v.alpha, v.resolution));
      slot->randomize(kWeightSeed);
    }
    return *slot;
  }
};
Models models;

std::string name_of(const char* engine, const Variant& v, int threads, Index batch) {
  return std::string("Peers/") + engine + "/alpha:" + v.alpha_text + "/res:" +
         std::to_string(v.resolution) + "/threads:" + std::to_string(threads) +
         "/batch:" + std::to_string(batch);
}

// Times `engine.run()`; images/s counts every image of the batch.
template <typename Engine>
void time_engine(benchmark::State& state, Engine& engine, Index batch) {
  engine.run();  // warm-up: first-touch of buffers and weights stays out of the timing
  for (auto _ : state) {
    engine.run();
    benchmark::DoNotOptimize(engine.output());
    benchmark::ClobberMemory();
  }
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

template <typename Engine>
void register_engine(const char* engine_name, const Variant& v, int threads, Index batch) {
  benchmark::RegisterBenchmark(name_of(engine_name, v, threads, batch).c_str(),
                               [=](benchmark::State& state) {
                                 const MobileNetV1<float>& model = models.get(v);
                                 Engine engine = peers::make_engine<Engine>(model, batch, threads);
                                 peers::fill_images(engine.input(), model.input_shape(batch).size(),
                                                    kImageSeed);
                                 time_engine(state, engine, batch);
                               })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

void register_case(const Variant& v, int threads, Index batch) {
  register_engine<peers::XnnpackMobileNet>("xnnpack", v, threads, batch);
#if MOBILENET_PEERS_HAVE_ONEDNN
  register_engine<peers::OnednnMobileNet>("onednn", v, threads, batch);
#endif
#if MOBILENET_PEERS_HAVE_TORCH
  register_engine<peers::TorchMobileNet>("torch", v, threads, batch);
#endif
  register_engine<peers::OursMobileNet>("mobilenet", v, threads, batch);
}

// The console output, plus a final table of ours / XNNPACK. With repetitions the ratio is of
// the medians; without, of the single runs.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal, so logs and the script's tee stay plain text.
  RatioReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& given) override {
    // Every benchmark here measures wall-clock time (the engines run threads of their own);
    // dropping the "/real_time" suffix keeps the names as documented.
    std::vector<Run> runs = given;
    for (Run& run : runs) run.run_name.time_type.clear();
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      any_median_ = any_median_ || median;
      if (run.run_type == Run::RT_Aggregate && !median) continue;
      Time& t = times_[run.run_name.str()];
      const auto rate = run.counters.find("images/s");
      const double images_per_second = rate == run.counters.end() ? 0.0 : double(rate->second);
      // Both times in the benchmark's unit, ms.
      (median ? t.median : t.single) = {run.GetAdjustedRealTime(), run.GetAdjustedCPUTime(),
                                        images_per_second};
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // A Markdown table: scripts/bench-peers.sh and docs/peers.md show it as printed. Written to
  // the reporter's own stream so it follows the console output in order.
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::ostream& out = GetOutputStream();
    out << "\nours = " << peers::ours_path_name() << "; times are wall-clock "
        << (any_median_ ? "medians over the repetitions" : "of single runs (no repetitions)") << "\n\n"
        << "CPU ms is the calling thread's CPU time: at threads:1 it is the whole work, and unlike\n"
        << "wall-clock time it does not grow while other processes hold the core.\n\n"
        << "| case | peer | peer ms | ours ms | ours/peer | peer CPU ms | ours CPU ms | ours/peer CPU "
           "| peer images/s | ours images/s |\n"
        << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    const std::string ours_prefix = "Peers/mobilenet/";
    for (const auto& [ours_name, ours_time] : times_) {
      if (ours_name.compare(0, ours_prefix.size(), ours_prefix) != 0) continue;
      const std::string rest = ours_name.substr(ours_prefix.size());
      for (const char* peer : {"xnnpack", "onednn", "torch"}) {
        const auto found = times_.find(std::string("Peers/") + peer + "/" + rest);
        if (found == times_.end()) continue;
        const Sample x = found->second.reported(), o = ours_time.reported();
        char row[256];
        std::snprintf(row, sizeof row,
                      "| %s | %s | %.2f | %.2f | %.3f | %.2f | %.2f | %.3f | %.1f | %.1f |\n", rest.c_str(),
                      peer, x.ms, o.ms, o.ms / x.ms, x.cpu_ms, o.cpu_ms, o.cpu_ms / x.cpu_ms,
                      x.images_per_second, o.images_per_second);
        out << row;
      }
    }
    out.flush();
  }

 private:
  struct Sample {
    double ms = -1, cpu_ms = -1, images_per_second = 0;
  };
  struct Time {
    Sample median, single;
    Sample reported() const { return median.ms >= 0 ? median : single; }
  };
  std::map<std::string, Time> times_;
  bool any_median_ = false;
};

// Prints and returns whether `Engine` computes what we compute on variant v.
template <typename Engine>
bool agrees(const char* engine_name, const Variant& v) {
  const peers::Agreement a = peers::compare_with<Engine>(models.get(v), /*batch=*/2, 1, kImageSeed);
  std::printf("numerics %s alpha %s res %ld: max |p_reference - p| = %.3g (largest p %.3g), "
              "same top-1 %ld/%ld: %s\n",
              engine_name, v.alpha_text, static_cast<long>(v.resolution), a.max_abs_difference,
              a.largest_probability, static_cast<long>(a.same_top1), static_cast<long>(a.images),
              a.ok() ? "ok" : "MISMATCH");
  return a.ok();
}

// Refuses to time anything if an engine does not compute what our reference path computes.
bool numerics_agree(const std::vector<Variant>& variants) {
  bool ok = true;
  for (const Variant& v : variants) {
    ok = agrees<peers::OursMobileNet>("mobilenet", v) && ok;
    ok = agrees<peers::XnnpackMobileNet>("xnnpack", v) && ok;
#if MOBILENET_PEERS_HAVE_ONEDNN
    ok = agrees<peers::OnednnMobileNet>("onednn", v) && ok;
#endif
#if MOBILENET_PEERS_HAVE_TORCH
    ok = agrees<peers::TorchMobileNet>("torch", v) && ok;
#endif
  }
  std::fflush(stdout);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Variant> variants = {{1.0, 224, "1.0"}, {0.5, 160, "0.5"}, {0.25, 128, "0.25"}};
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--peers_quick") == 0) variants.resize(1);
    else args.push_back(argv[i]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  if (!numerics_agree(variants)) {
    std::fprintf(stderr,
                 "bench_peers: an engine and our reference path disagree beyond %g (absolute) or %g of "
                 "the largest probability; not timing\n",
                 peers::kAbsoluteTolerance, peers::kRelativeTolerance);
    return 1;
  }
  for (const Variant& v : variants)
    for (int threads : {1, 2})
      for (Index batch : {1, 8}) register_case(v, threads, batch);

  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
