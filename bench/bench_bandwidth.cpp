// SPDX-License-Identifier: MIT
// What one core of this machine can compute and move: its fp32 FMA and 8-bit VNNI peaks, and read and read+write (copy) bandwidth over working
// sets that fit L1 (16 KiB), L2 (512 KiB of Zen 4's 1 MiB), L3 (8 MiB) and none (256 MiB).
// The yardstick for the depthwise kernels' bytes/s (bench_depthwise, bench_layers): their
// inputs and outputs live in L2 and L3, so those two rates are what "fraction of bandwidth"
// divides by. AVX-512 loads and stores where the CPU has them (elsewhere what the compiler makes
// of a plain loop, which may understate the L1 and L2 rates), 64-byte aligned buffers, each pass
// over the whole set.
//
//   build/bench/bench/bench_bandwidth --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   build/bench/bench/bench_bandwidth --benchmark_filter=fma_peak
//   build/bench/bench/bench_bandwidth --benchmark_filter=vnni_peak   (8-bit: AVX-512 VNNI)

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "mobilenet/kernels/cpu_features.hpp"
#include "mobilenet/kernels/int8/isa.hpp"

#if MOBILENET_X86_DISPATCH
#include <immintrin.h>
#endif

namespace {

using mobilenet::kernels::Isa;

struct AlignedFree {
  void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

Buffer make_buffer(std::size_t floats) {
  Buffer b(static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t(64))));
  for (std::size_t i = 0; i < floats; ++i) b[i] = float(i % 7);
  return b;
}

// The sum of `floats` floats (a multiple of 128), so the loads cannot be optimised away.
float read_generic(const float* p, std::size_t floats) {
  float s[16] = {};
  for (std::size_t i = 0; i < floats; i += 16)
    for (int j = 0; j < 16; ++j) s[j] += p[i + j];
  float total = 0;
  for (float x : s) total += x;
  return total;
}
void copy_generic(const float* src, float* dst, std::size_t floats) {
  for (std::size_t i = 0; i < floats; ++i) dst[i] = src[i];
}

#if MOBILENET_X86_DISPATCH
MOBILENET_TARGET_AVX512 float read_avx512(const float* p, std::size_t floats) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (std::size_t i = 0; i < floats; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
  }
  // Not _mm512_reduce_add_ps: GCC 12's header trips -Wuninitialized there.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}
MOBILENET_TARGET_AVX512 void copy_avx512(const float* src, float* dst, std::size_t floats) {
  for (std::size_t i = 0; i < floats; i += 64)
    for (int j = 0; j < 64; j += 16) _mm512_store_ps(dst + i + j, _mm512_load_ps(src + i + j));
}
#endif

float read_floats(Isa isa, const float* p, std::size_t floats) {
#if MOBILENET_X86_DISPATCH
  if (isa == Isa::Avx512) return read_avx512(p, floats);
#endif
  (void)isa;
  return read_generic(p, floats);
}
void copy_floats(Isa isa, const float* src, float* dst, std::size_t floats) {
#if MOBILENET_X86_DISPATCH
  if (isa == Isa::Avx512) return copy_avx512(src, dst, floats);
#endif
  (void)isa;
  copy_generic(src, dst, floats);
}

// bytes/s counts every byte read, and for the copy every byte written too.
void bench_read(benchmark::State& state) {
  const auto floats = static_cast<std::size_t>(state.range(0)) / sizeof(float);
  const Buffer buffer = make_buffer(floats);
  const Isa isa = mobilenet::kernels::best_isa();
  for (auto _ : state) benchmark::DoNotOptimize(read_floats(isa, buffer.get(), floats));
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetLabel(mobilenet::kernels::isa_name(isa));
}

// Source and destination each take half of the working set.
void bench_copy(benchmark::State& state) {
  const auto floats = static_cast<std::size_t>(state.range(0)) / sizeof(float) / 2;
  const Buffer src = make_buffer(floats), dst = make_buffer(floats);
  const Isa isa = mobilenet::kernels::best_isa();
  for (auto _ : state) {
    copy_floats(isa, src.get(), dst.get(), floats);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetLabel(mobilenet::kernels::isa_name(isa));
}

void working_sets(benchmark::internal::Benchmark* b) {
  for (std::int64_t bytes : {std::int64_t(16) << 10, std::int64_t(512) << 10, std::int64_t(8) << 20,
                             std::int64_t(256) << 20})
    b->Arg(bytes);
}

#if MOBILENET_X86_DISPATCH
#define MOBILENET_RELOAD_VECTOR(x) asm volatile("" : "+v"(x))
// `steps` rounds of 24 independent AVX-512 FMAs (more than the FMA latency times the FMA
// ports of any current core, so the chains never wait on each other): the core's fp32 peak.
MOBILENET_TARGET_AVX512 float fma_rounds_avx512(long steps) {
  __m512 acc[24];  // fully unrolled below: 24 registers
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(0.001f * float(i));
  __m512 a = _mm512_set1_ps(0.9999f);
  const __m512 b = _mm512_set1_ps(0.0001f);
  for (long n = 0; n < steps; ++n) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    MOBILENET_RELOAD_VECTOR(a);  // the compiler may not fold steps together
  }
  alignas(64) float lanes[16];
  __m512 sum = acc[0];
  for (int i = 1; i < 24; ++i) sum = _mm512_add_ps(sum, acc[i]);
  _mm512_store_ps(lanes, sum);
  return lanes[0];
}
// The same with 12 independent AVX2 FMAs (12 of the 16 ymm registers), for cores without AVX-512.
MOBILENET_TARGET_AVX2 float fma_rounds_avx2(long steps) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * float(i));
  __m256 a = _mm256_set1_ps(0.9999f);
  const __m256 b = _mm256_set1_ps(0.0001f);
  for (long n = 0; n < steps; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    MOBILENET_RELOAD_VECTOR(a);
  }
  alignas(32) float lanes[8];
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  _mm256_store_ps(lanes, sum);
  return lanes[0];
}
// `steps` rounds of 16 independent AVX-512 vpdpbusd (u8 x s8, sums of 4 into int32): the
// core's 8-bit multiply-add peak, as fma_rounds_avx512 measures the fp32 one.
MOBILENET_TARGET_AVX512_VNNI int vnni_rounds_avx512(long steps) {
  __m512i acc[16];  // every loop over it fully unrolled, so that it stays in registers
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi8(3);
  const __m512i b = _mm512_set1_epi8(-2);
  for (long n = 0; n < steps; ++n) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    MOBILENET_RELOAD_VECTOR(a);
  }
  alignas(64) int lanes[16];
  __m512i sum = acc[0];
#pragma GCC unroll 16
  for (int i = 1; i < 16; ++i) sum = _mm512_add_epi32(sum, acc[i]);
  _mm512_store_si512(lanes, sum);
  return lanes[0];
}
#endif

// The fp32 FMA peak of one core with the best instruction set this CPU has (AVX-512 or AVX2;
// elsewhere the benchmark is skipped). The yardstick for the GEMMs' GFLOP/s: a MobileNetV1
// 1.0/224 inference (1.138 GFLOP) cannot take less than 1.138 / peak seconds on one core.
void bench_fma_peak(benchmark::State& state) {
#if MOBILENET_X86_DISPATCH
  const Isa isa = mobilenet::kernels::best_isa();
  if (isa == Isa::Avx512 || isa == Isa::Avx2) {
    constexpr long kSteps = 1 << 16;
    for (auto _ : state)
      benchmark::DoNotOptimize(isa == Isa::Avx512 ? fma_rounds_avx512(kSteps) : fma_rounds_avx2(kSteps));
    const double fmas_per_step = isa == Isa::Avx512 ? 24 * 16 : 12 * 8;
    state.counters["FLOP/s"] = benchmark::Counter(double(state.iterations()) * kSteps * fmas_per_step * 2,
                                                  benchmark::Counter::kIsRate);
    state.SetLabel(mobilenet::kernels::isa_name(isa));
    return;
  }
#endif
  state.SkipWithError("needs AVX-512 or AVX2");
  for (auto _ : state) {
  }
}

// One core's 8-bit peak with AVX-512 VNNI, in GOPS: a vpdpbusd on a zmm is 64 u8 x s8
// multiply-adds, 128 operations. The yardstick for bench_gemm_int8's GOPS. Skipped without
// AVX-512 VNNI.
void bench_vnni_peak(benchmark::State& state) {
#if MOBILENET_X86_DISPATCH
  if (mobilenet::kernels::int8_isa_supported(mobilenet::kernels::Int8Isa::Avx512Vnni) &&
      mobilenet::kernels::best_isa() == Isa::Avx512) {
    constexpr long kSteps = 1 << 16;
    for (auto _ : state) benchmark::DoNotOptimize(vnni_rounds_avx512(kSteps));
    const double ops = double(state.iterations()) * kSteps * 16 * 64 * 2;
    state.counters["GOPS"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsRate);
    state.SetLabel("avx512-vnni");
    return;
  }
#endif
  state.SkipWithError("needs AVX-512 VNNI");
  for (auto _ : state) {
  }
}

BENCHMARK(bench_fma_peak)->Name("fma_peak");
BENCHMARK(bench_vnni_peak)->Name("vnni_peak");
BENCHMARK(bench_read)->Name("bandwidth/read")->Apply(working_sets);
BENCHMARK(bench_copy)->Name("bandwidth/read_write")->Apply(working_sets);

}  // namespace
