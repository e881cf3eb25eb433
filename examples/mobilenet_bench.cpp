// SPDX-License-Identifier: MIT
// Times a model file (or random weights of any alpha and resolution) on the fast path, as
// TFLite's benchmark_model or ncnn's benchncnn do: latency of whole inferences (median, min,
// max), images/s, the time of each plan step, memory and the instruction set chosen.
//
//   mobilenet-bench --model FILE | --alpha A --resolution R   [--threads N] [--batch N]
//                   [--runs N] [--warmup N] [--json]

#include <mobilenet/io/model_file.hpp>
#include <mobilenet/mobilenet.hpp>
#include <mobilenet/plan.hpp>

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
#include <vector>

namespace {

using mobilenet::Index;

const char* kUsage =
    "usage: mobilenet-bench (--model FILE | --alpha A --resolution R) [options]\n"
    "  --model FILE       .tflite (float32 or uint8) or .safetensors model to time\n"
    "  --alpha A          without --model: random weights of width multiplier A (default 1.0)\n"
    "  --resolution R     without --model: input R x R (default 224)\n"
    "  --threads N        threads per inference, 0 = one per core (default 1)\n"
    "  --batch N          images per inference (default 1)\n"
    "  --runs N           timed inferences (default 50)\n"
    "  --warmup N         untimed inferences first (default 5)\n"
    "  --json             print one JSON object instead of the table\n"
    "Latency is wall-clock time of Plan::run on a random input (preprocessing not included).\n"
    "Per-step times come from Plan::run_step, each step run alone --runs times after the\n"
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

int run(const Options& o) {
  using namespace mobilenet;
  using Clock = std::chrono::steady_clock;
  std::string source, format;
  std::optional<MobileNetV1<float>> model;
  if (!o.model.empty()) {
    io::LoadedModel loaded = io::load_model(o.model);
    model.emplace(std::move(loaded.model));
    source = o.model;
    format = loaded.format;
  } else {
    model.emplace(MobileNetV1Config::tf_slim(o.alpha, o.resolution));
    model->randomize(1);
    source = "random weights";
    format = "random";
  }
  const auto build_start = Clock::now();
  Plan plan(*model, PlanOptions{o.batch, o.threads});
  const double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();

  Tensor<float> input(plan.input_shape(o.batch)), output(plan.output_shape(o.batch));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (Index i = 0; i < input.size(); ++i) input.data()[i] = uniform(rng);

  for (Index i = 0; i < o.warmup; ++i) plan.run(input.view(), output.view());
  std::vector<double> ms;
  for (Index i = 0; i < o.runs; ++i) {
    const auto start = Clock::now();
    plan.run(input.view(), output.view());
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  const auto info = plan.step_info(o.batch);
  std::vector<double> step_ms;
  for (std::size_t s = 0; s < info.size(); ++s) {
    std::vector<double> times;
    for (Index i = 0; i < o.runs; ++i) {
      const auto start = Clock::now();
      plan.run_step(s);
      times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    step_ms.push_back(median(times));
  }
  const double med = median(ms);
  const double lo = *std::min_element(ms.begin(), ms.end()), hi = *std::max_element(ms.begin(), ms.end());
  const double images_per_s = med > 0 ? static_cast<double>(o.batch) * 1000.0 / med : 0.0;  // JSON has no inf
  const double weight_mb = static_cast<double>(plan.weight_bytes()) / 1e6;
  const double arena_mb = static_cast<double>(plan.arena_bytes()) / 1e6;
  const double rss_mb = peak_rss_mb();
  const char* isa = kernels::isa_name(plan.isa());

  if (o.json) {
    std::ostringstream j;
    j.precision(6);
    j << "{\"model\": " << quoted(source) << ", \"format\": " << quoted(format) << ", \"name\": " << quoted(model->name())
      << ", \"alpha\": " << model->config().alpha << ", \"resolution\": " << model->config().resolution
      << ", \"output\": " << quoted(plan.output_shape(1).str()) << ", \"threads\": " << plan.threads()
      << ", \"batch\": " << o.batch << ", \"runs\": " << o.runs << ", \"warmup\": " << o.warmup
      << ", \"isa\": " << quoted(isa) << ", \"plan_build_ms\": " << build_ms << ", \"latency_ms\": {\"median\": " << med
      << ", \"min\": " << lo << ", \"max\": " << hi << "}, \"images_per_s\": " << images_per_s
      << ", \"weight_mb\": " << weight_mb << ", \"arena_mb\": " << arena_mb << ", \"peak_rss_mb\": " << rss_mb
      << ", \"steps\": [";
    for (std::size_t s = 0; s < info.size(); ++s)
      j << (s ? ", " : "") << "{\"name\": " << quoted(info[s].name) << ", \"median_ms\": " << step_ms[s]
        << ", \"multiply_adds\": " << info[s].multiply_adds << "}";
    j << "]}\n";
    std::cout << j.str();
    return 0;
  }
  std::printf("%s (%s, %s), output %s\n", source.c_str(), format.c_str(), model->name().c_str(),
              plan.output_shape(1).str().c_str());
  std::printf("threads %d, batch %lld, isa %s, %lld runs after %lld warm-up (plan built in %.1f ms)\n", plan.threads(),
              static_cast<long long>(o.batch), isa, static_cast<long long>(o.runs), static_cast<long long>(o.warmup),
              build_ms);
  std::printf("latency   median %.3f ms   min %.3f ms   max %.3f ms   %.1f images/s\n", med, lo, hi, images_per_s);
  std::printf("memory    packed weights %.2f MB   arena %.2f MB   peak RSS %.1f MB\n", weight_mb, arena_mb, rss_mb);
  std::printf("\n%-14s %10s %10s %8s\n", "step", "ms", "GFLOP/s", "share");
  double total = 0;
  for (double t : step_ms) total += t;
  for (std::size_t s = 0; s < info.size(); ++s)
    std::printf("%-14s %10.3f %10.1f %7.1f%%\n", info[s].name.c_str(), step_ms[s],
                step_ms[s] > 0 ? 2e-6 * static_cast<double>(info[s].multiply_adds) / step_ms[s] : 0.0,
                total > 0 ? 100 * step_ms[s] / total : 0.0);
  std::printf("%-14s %10.3f\n", "sum of steps", total);
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
