// SPDX-License-Identifier: MIT
// Times a model file (or random weights of any alpha and resolution) on the fast path, as
// TFLite's benchmark_model or ncnn's benchncnn do: latency of whole inferences (median, min,
// max), images/s, the time of each plan step, memory and the instruction set chosen.
//
//   mobilenet-bench --model FILE | --alpha A --resolution R   [--threads N] [--batch N]
//                   [--runs N] [--warmup N] [--precision int8|float] [--json]
//
// A quantized file runs in 8-bit integers (QuantizedPlan), as classify runs it, unless
// --precision float is given.

#include <mobilenet/io/model_file.hpp>
#include <mobilenet/mobilenet.hpp>
#include <mobilenet/model/inference_plan.hpp>  // Precision
#include <mobilenet/plan.hpp>
#include <mobilenet/quantized_plan.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using mobilenet::Index;
using mobilenet::Precision;

const char* kUsage =
    "usage: mobilenet-bench (--model FILE | --alpha A --resolution R) [options]\n"
    "  --model FILE       .tflite (float32, uint8 or int8) or .safetensors model to time\n"
    "  --alpha A          without --model: random weights of width multiplier A (default 1.0)\n"
    "  --resolution R     without --model: input R x R (default 224)\n"
    "  --threads N        threads per inference, 0 = one per core (default 1)\n"
    "  --batch N          images per inference (default 1)\n"
    "  --runs N           timed inferences (default 50)\n"
    "  --warmup N         untimed inferences first (default 5)\n"
    "  --precision P      int8: run a quantized model in 8-bit integers (the default for uint8\n"
    "                     and int8 files, as classify runs them); float: run it dequantized\n"
    "  --json             print one JSON object instead of the table\n"
    "Latency is wall-clock time of Plan::run (QuantizedPlan::run in int8) on a random input\n"
    "(preprocessing not included).\n"
    "Per-step times come from run_step, each step run alone --runs times after the\n"
    "whole inferences (median); they sum to a little less than a whole inference, which also\n"
    "pays for the hand-offs between steps. Peak RSS is the process's (getrusage).\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string model;
  double alpha = 1.0;
  Index resolution = 224;
  int threads = 1;
  Index batch = 1;
  Index runs = 50;
  Index warmup = 5;
  std::optional<Precision> precision;  // unset: int8 for quantized files, else float
  bool json = false;
};

long long parse_int(const std::string& flag, const std::string& text, long long low, long long high) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < low || value > high)
    throw UsageError(flag + " expects a whole number in " + std::to_string(low) + ".." + std::to_string(high) +
                     ", got '" + text + "'");
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool random_shape = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--model") {
      o.model = value();
    } else if (arg == "--alpha") {
      const std::string text = value();
      std::size_t used = 0;
      try {
        o.alpha = std::stod(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != text.size() || !(o.alpha > 0)) throw UsageError("--alpha expects a positive number, got '" + text + "'");
      random_shape = true;
    } else if (arg == "--resolution") {
      o.resolution = parse_int(arg, value(), 1, 4096);
      random_shape = true;
    } else if (arg == "--threads") {
      o.threads = static_cast<int>(parse_int(arg, value(), 0, 256));
    } else if (arg == "--batch") {
      o.batch = parse_int(arg, value(), 1, 4096);
    } else if (arg == "--runs") {
      o.runs = parse_int(arg, value(), 1, 1000000);
    } else if (arg == "--warmup") {
      o.warmup = parse_int(arg, value(), 0, 1000000);
    } else if (arg == "--precision") {
      const std::string p = value();
      if (p != "int8" && p != "float") throw UsageError("--precision expects int8 or float, got '" + p + "'");
      o.precision = p == "int8" ? Precision::Int8 : Precision::Float;
    } else if (arg == "--json") {
      o.json = true;
    } else {
      throw UsageError("unknown argument '" + arg + "'");
    }
  }
  if (!o.model.empty() && random_shape) throw UsageError("--model and --alpha/--resolution exclude each other");
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// JSON string literal of `s` (names are ASCII, paths may hold anything).
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20) {
      char code[8];
      std::snprintf(code, sizeof code, "\\u%04x", c);
      out += code;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KB
}

// Whole inferences, then each step alone, of one plan.
struct Timing {
  std::vector<double> ms;       // each timed inference
  std::vector<double> step_ms;  // each step's median alone
};

// run_once() o.warmup times untimed and o.runs times timed, then each of `steps` steps of
// `plan` (Plan or QuantizedPlan) alone o.runs times through run_step.
template <typename PlanT, typename RunOnce>
Timing time_plan(PlanT& plan, std::size_t steps, RunOnce run_once, const Options& o) {
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  Timing t;
  for (Index i = 0; i < o.warmup; ++i) run_once();
  for (Index i = 0; i < o.runs; ++i) {
    const auto start = Clock::now();
    run_once();
    t.ms.push_back(since(start));
  }
  for (std::size_t s = 0; s < steps; ++s) {
    std::vector<double> times;
    for (Index i = 0; i < o.runs; ++i) {
      const auto start = Clock::now();
      plan.run_step(s);
      times.push_back(since(start));
    }
    t.step_ms.push_back(median(times));
  }
  return t;
}

// What the report says of the model and of the plan that ran it.
struct Report {
  std::string source, format, name, output;
  double alpha = 0;
  Index resolution = 0;
  int threads = 0;
  std::string isa;
  Precision precision = Precision::Float;
  double build_ms = 0, weight_mb = 0, arena_mb = 0;
  std::vector<std::pair<std::string, long long>> steps;  // name, multiply-adds
  Timing timing;
};

// The report's fields that Plan and QuantizedPlan share (each has its own StepInfo type).
template <typename PlanT>
void describe_plan(Report& r, const PlanT& plan, Index batch) {
  for (const auto& step : plan.step_info(batch)) r.steps.emplace_back(step.name, static_cast<long long>(step.multiply_adds));
  r.output = plan.output_shape(1).str();
  r.threads = plan.threads();
  r.weight_mb = static_cast<double>(plan.weight_bytes()) / 1e6;
  r.arena_mb = static_cast<double>(plan.arena_bytes()) / 1e6;
}

void print(const Report& r, const Options& o) {
  const std::vector<double>& ms = r.timing.ms;
  const double med = median(ms);
  const double lo = *std::min_element(ms.begin(), ms.end()), hi = *std::max_element(ms.begin(), ms.end());
  const double images_per_s = med > 0 ? static_cast<double>(o.batch) * 1000.0 / med : 0.0;  // JSON has no inf
  const double rss_mb = peak_rss_mb();
  const char* precision = mobilenet::precision_name(r.precision);
  if (o.json) {
    std::ostringstream j;
    j.precision(6);
    j << "{\"model\": " << quoted(r.source) << ", \"format\": " << quoted(r.format) << ", \"name\": " << quoted(r.name)
      << ", \"alpha\": " << r.alpha << ", \"resolution\": " << r.resolution << ", \"output\": " << quoted(r.output)
      << ", \"precision\": " << quoted(precision) << ", \"threads\": " << r.threads << ", \"batch\": " << o.batch
      << ", \"runs\": " << o.runs << ", \"warmup\": " << o.warmup << ", \"isa\": " << quoted(r.isa)
      << ", \"plan_build_ms\": " << r.build_ms << ", \"latency_ms\": {\"median\": " << med << ", \"min\": " << lo
      << ", \"max\": " << hi << "}, \"images_per_s\": " << images_per_s << ", \"weight_mb\": " << r.weight_mb
      << ", \"arena_mb\": " << r.arena_mb << ", \"peak_rss_mb\": " << rss_mb << ", \"steps\": [";
    for (std::size_t s = 0; s < r.steps.size(); ++s)
      j << (s ? ", " : "") << "{\"name\": " << quoted(r.steps[s].first) << ", \"median_ms\": " << r.timing.step_ms[s]
        << ", \"multiply_adds\": " << r.steps[s].second << "}";
    j << "]}\n";
    std::cout << j.str();
    return;
  }
  std::printf("%s (%s, %s), output %s\n", r.source.c_str(), r.format.c_str(), r.name.c_str(), r.output.c_str());
  std::printf("threads %d, batch %lld, %s on %s, %lld runs after %lld warm-up (plan built in %.1f ms)\n", r.threads,
              static_cast<long long>(o.batch), precision, r.isa.c_str(), static_cast<long long>(o.runs),
              static_cast<long long>(o.warmup), r.build_ms);
  std::printf("latency   median %.3f ms   min %.3f ms   max %.3f ms   %.1f images/s\n", med, lo, hi, images_per_s);
  std::printf("memory    packed weights %.2f MB   arena %.2f MB   peak RSS %.1f MB\n", r.weight_mb, r.arena_mb, rss_mb);
  // Two operations per multiply-add: floating-point ones in float, integer ones in int8.
  std::printf("\n%-14s %10s %10s %8s\n", "step", "ms", r.precision == Precision::Int8 ? "GOP/s" : "GFLOP/s", "share");
  double total = 0;
  for (double t : r.timing.step_ms) total += t;
  for (std::size_t s = 0; s < r.steps.size(); ++s) {
    const double t = r.timing.step_ms[s];
    std::printf("%-14s %10.3f %10.1f %7.1f%%\n", r.steps[s].first.c_str(), t,
                t > 0 ? 2e-6 * static_cast<double>(r.steps[s].second) / t : 0.0,
                total > 0 ? 100 * t / total : 0.0);
  }
  std::printf("%-14s %10.3f\n", "sum of steps", total);
}

int run(const Options& o) {
  using namespace mobilenet;
  using Clock = std::chrono::steady_clock;
  std::optional<io::LoadedModel> loaded;
  std::optional<MobileNetV1<float>> random_model;
  Report r;
  if (!o.model.empty()) {
    loaded.emplace(io::load_model(o.model));
    r.source = o.model;
    r.format = loaded->format;
  } else {
    random_model.emplace(MobileNetV1Config::tf_slim(o.alpha, o.resolution));
    random_model->randomize(1);
    r.source = "random weights";
    r.format = "random";
  }
  const MobileNetV1<float>& model = loaded ? loaded->model : *random_model;
  const bool quantized = loaded && loaded->quantized;
  r.precision = o.precision.value_or(quantized ? Precision::Int8 : Precision::Float);
  if (r.precision == Precision::Int8 && !o.model.empty() && !quantized)
    throw std::runtime_error(o.model + " (" + r.format +
                             ") is not quantized: --precision int8 needs a uint8 or int8 .tflite");
  if (r.precision == Precision::Int8 && o.model.empty())
    throw UsageError("--precision int8 needs a quantized --model");
  r.name = model.name();
  r.alpha = model.config().alpha;
  r.resolution = model.config().resolution;
  std::mt19937 rng(7);
  const PlanOptions options{o.batch, o.threads};
  const auto build_start = Clock::now();
  if (r.precision == Precision::Int8) {
    QuantizedPlan plan(*loaded->quantized, options);
    r.build_ms = std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();
    std::vector<std::uint8_t> input(static_cast<std::size_t>(plan.input_shape(o.batch).size()));
    std::vector<std::uint8_t> output(static_cast<std::size_t>(plan.output_shape(o.batch).size()));
    std::uniform_int_distribution<int> byte(0, 255);
    for (std::uint8_t& b : input) b = static_cast<std::uint8_t>(byte(rng));
    describe_plan(r, plan, o.batch);
    r.isa = kernels::int8_isa_name(plan.isa());
    r.timing = time_plan(plan, r.steps.size(), [&] { plan.run(input.data(), o.batch, output.data()); }, o);
  } else {
    Plan plan(model, options);
    r.build_ms = std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();
    Tensor<float> input(plan.input_shape(o.batch)), output(plan.output_shape(o.batch));
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (Index i = 0; i < input.size(); ++i) input.data()[i] = uniform(rng);
    describe_plan(r, plan, o.batch);
    r.isa = kernels::isa_name(plan.isa());
    r.timing = time_plan(plan, r.steps.size(), [&] { plan.run(input.view(), output.view()); }, o);
  }
  print(r, o);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& error) {
    std::fprintf(stderr, "mobilenet-bench: %s\n%s", error.what(), kUsage);
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "mobilenet-bench: %s\n", error.what());
    return 1;
  }
}
