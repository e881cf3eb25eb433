// SPDX-License-Identifier: MIT
// Standalone check for ARM64 (cross-compiled, run under qemu-aarch64 by scripts/test-arm64.sh):
// the 8-bit GEMM's NEON (and, when built with +dotprod, NEON dot product) and generic
// micro-kernels, through gemm_int8_packed, against gemm_int8_reference bit for bit, in both
// roundings (Rounding::Double, Single): odd M, K and N, extreme values and zero points, zero
// and non-zero weight zero points, every shift -31..+6 with accumulators near the ends of
// int32, exact ties, strided A and C with guard bytes, and split ranges; and a kernel rounding
// the other way is shown to disagree. No GoogleTest. Exit status 0 when every case agrees and
// the expected kernels were compiled (pass --expect-dotprod for the +dotprod build).

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "mobilenet/kernels/int8/gemm.hpp"

namespace {

using mobilenet::Index;
using mobilenet::Requantization;
using mobilenet::Rounding;
using mobilenet::kernels::Int8GemmLayer;
using mobilenet::kernels::Int8GemmRange;
using mobilenet::kernels::Int8Isa;

struct Case {
  Index m, k, n;
  std::int32_t zw, za;
  bool extreme;
  bool every_shift = false;  // shifts -31..+6 column by column, biases near the ends of int32
};

const char* rounding_name(Rounding r) { return r == Rounding::Single ? "single" : "double"; }

// Mismatching bytes of one case (C's guard bytes included). With `wrong`, the packed kernel
// rounds the other way than the reference.
std::size_t check(Int8Isa isa, Rounding rounding, const Case& c, bool split, unsigned seed, bool wrong = false) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255), coin(0, 1), shift(-20, 4);
  std::uniform_int_distribution<std::int32_t> mult(1 << 30, 2147483647), bias(-100000, 100000);
  const Index lda = c.k + 3, ldc = c.n + 5;
  std::vector<std::uint8_t> a(static_cast<std::size_t>((c.m - 1) * lda + c.k));
  for (auto& x : a) x = static_cast<std::uint8_t>(c.extreme ? (coin(rng) ? 255 : 0) : byte(rng));
  std::vector<std::int8_t> w(static_cast<std::size_t>(c.k * c.n));
  for (auto& x : w) x = static_cast<std::int8_t>(c.extreme ? (coin(rng) ? 127 : -128) : byte(rng) - 128);
  std::vector<std::int32_t> b(static_cast<std::size_t>(c.n));
  for (auto& x : b) x = bias(rng);
  std::vector<Requantization> r(static_cast<std::size_t>(c.n));
  for (auto& x : r) x = {mult(rng), shift(rng) - (c.k > 256 ? 4 : 0)};
  // Multipliers 1/2 and 3/4: exact ties in both roundings.
  for (std::size_t j = 0; j < r.size(); j += 3) r[j].multiplier = 1 << 30;
  for (std::size_t j = 1; j < r.size(); j += 3) r[j].multiplier = 3 << 29;
  if (c.every_shift)  // |sum| <= k * 255 * 255 < 2^24 for k <= 256
    for (std::size_t j = 0; j < r.size(); ++j) {
      r[j].shift = int(j % 38) - 31;
      b[j] = j % 4 == 0 ? 2147483647 - (1 << 24) : j % 4 == 1 ? -2147483647 + (1 << 24) : b[j] * 1000;
    }
  Int8GemmLayer layer;
  layer.weights = w.data(), layer.bias = b.data(), layer.k = c.k, layer.n = c.n;
  layer.weight_zero_point = c.zw, layer.input_zero_point = c.za, layer.requantization = r.data();
  layer.output_zero_point = static_cast<std::int32_t>(seed % 256);
  layer.range = {static_cast<std::int32_t>(seed % 7), 255 - static_cast<std::int32_t>(seed % 5)};
  layer.rounding = rounding;
  std::vector<std::uint8_t> want(static_cast<std::size_t>(c.m * ldc + 7), 0xA5), got = want;
  mobilenet::kernels::gemm_int8_reference(a.data(), c.m, lda, layer, want.data(), ldc);
  if (wrong) layer.rounding = rounding == Rounding::Single ? Rounding::Double : Rounding::Single;
  const mobilenet::kernels::PackedInt8GemmWeights packed(layer, isa);
  if (split) {
    const Index rows = c.m / 2, panels = packed.panels() / 2;
    for (auto range : {Int8GemmRange{0, rows, 0, panels}, Int8GemmRange{0, rows, panels, packed.panels()},
                       Int8GemmRange{rows, c.m, 0, panels}, Int8GemmRange{rows, c.m, panels, packed.panels()}})
      mobilenet::kernels::gemm_int8_packed_range(a.data(), c.m, lda, packed, got.data(), ldc, range);
  } else {
    mobilenet::kernels::gemm_int8_packed(a.data(), c.m, lda, packed, got.data(), ldc);
  }
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i] && bad++ < 3 && !wrong)
      std::printf("FAIL %s %s rounding m=%ld k=%ld n=%ld zw=%d za=%d split=%d: C[%zu] = %d, reference %d\n",
                  mobilenet::kernels::int8_isa_name(isa), rounding_name(rounding), long(c.m), long(c.k), long(c.n),
                  int(c.zw), int(c.za), int(split), i, int(got[i]), int(want[i]));
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  const bool expect_dotprod = argc > 1 && std::strcmp(argv[1], "--expect-dotprod") == 0;
  const std::vector<Int8Isa> isas = mobilenet::kernels::runnable_int8_isas();
  const Case cases[] = {{1, 1, 1, 0, 0, false},      {3, 3, 7, 5, 128, false},     {4, 16, 16, 0, 255, false},
                        {7, 27, 32, -3, 128, false}, {13, 33, 33, 127, 0, true},   {49, 64, 128, 0, 128, false},
                        {29, 128, 48, -128, 255, true}, {5, 1024, 1001, 0, 3, false}, {6, 4096, 17, 127, 255, true},
                        {50, 65, 100, -7, 200, false},  {11, 64, 76, -128, 255, true, true},
                        {9, 200, 76, 127, 0, false, true}, {3, 7, 76, 0, 128, false, true}};
  std::size_t count = 0, failures = 0;
  for (Rounding rounding : {Rounding::Double, Rounding::Single}) {
    unsigned seed = 1;
    for (Int8Isa isa : isas)
      for (const Case& c : cases)
        for (bool split : {false, true}) {
          ++count;
          failures += check(isa, rounding, c, split, seed++) > 0;
        }
  }
  // The cases tell the roundings apart: the kernels made to round the other way disagree.
  for (Rounding rounding : {Rounding::Double, Rounding::Single})
    for (Int8Isa isa : isas)
      if (check(isa, rounding, cases[5], false, 6, true) == 0 || check(isa, rounding, cases[10], false, 11, true) == 0) {
        std::printf("FAIL %s: rounding %s instead of the other way goes unnoticed\n",
                    mobilenet::kernels::int8_isa_name(isa), rounding_name(rounding));
        ++failures;
      }
  std::printf("8-bit gemm kernels:");
  for (Int8Isa isa : isas) std::printf(" %s", mobilenet::kernels::int8_isa_name(isa));
  std::printf("; %zu cases, %zu failures\n", count, failures);
  const std::size_t expected_isas = expect_dotprod ? 3 : 2;  // generic, neon (, neon-dotprod)
  if (isas.size() != expected_isas) {
    std::printf("FAIL expected %zu 8-bit instruction sets\n", expected_isas);
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
