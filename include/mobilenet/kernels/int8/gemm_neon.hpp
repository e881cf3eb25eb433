// SPDX-License-Identifier: MIT
#pragma once
// NEON 8-bit GEMM micro-kernels: Rows x 16 int32 accumulators (four q registers per row, up to
// 4 rows).
//   int8_gemm_tile_neon<Rows>: without the dot product: vld4 splits a group's 64 bytes into
//     its 4 k (16 columns each), widened to 16 bits and multiplied by one lane of A's
//     widened group with vmlal (exact).
//   int8_gemm_tile_neon_dot<Rows> (armv8.2-a+dotprod): sdot of A ^ 0x80 (a - 128 as int8)
//     with 4 columns x 4 k; the packer folds the 128 * colsum(w) this drops into the column
//     offset.
// The epilogue: vqrdmulh is gemmlowp's doubling high multiply exactly (it saturates only for
// INT32_MIN * INT32_MIN, and multipliers are >= 0); the rounding shift is the remainder form.
// Single rounding: vmull's 64-bit products, vrshl by -total (a rounding shift right, half up,
// exact in 64 bits) and vmovn's low 32 bits.

#include <algorithm>

#include "mobilenet/kernels/int8/gemm_common.hpp"

#if MOBILENET_NEON
#include <arm_neon.h>

namespace mobilenet {
namespace kernels {
namespace detail {

// multiply_by_quantized_multiplier_single_rounding on 4 lanes (total shift in [1, 62]).
MOBILENET_ALWAYS_INLINE
inline int32x4_t multiply_by_quantized_multiplier_single_neon(int32x4_t acc, int32x4_t multiplier, int32x4_t total) {
  const int32x4_t left = vnegq_s32(total);
  const int64x2_t low = vrshlq_s64(vmull_s32(vget_low_s32(acc), vget_low_s32(multiplier)), vmovl_s32(vget_low_s32(left)));
  const int64x2_t high = vrshlq_s64(vmull_high_s32(acc, multiplier), vmovl_high_s32(left));
  return vcombine_s32(vmovn_s64(low), vmovn_s64(high));
}

template <Rounding Round>
MOBILENET_ALWAYS_INLINE inline int32x4_t requantize_neon(const Int8Tile& t, int32x4_t acc, Index first) {
  const Int8ColumnParams& col = t.columns_data;
  if constexpr (Round == Rounding::Single) {
    const int32x4_t q = multiply_by_quantized_multiplier_single_neon(acc, vld1q_s32(col.multiplier + first),
                                                                      vld1q_s32(col.right_shift + first));
    const int32x4_t v = vaddq_s32(q, vdupq_n_s32(t.zero_point));
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(t.lo)), vdupq_n_s32(t.hi));
  }
  const int32x4_t right = vld1q_s32(col.right_shift + first);
  const int32x4_t x = vshlq_s32(acc, vld1q_s32(col.left_shift + first));  // wraps, as the scalar shift
  const int32x4_t high = vqrdmulhq_s32(x, vld1q_s32(col.multiplier + first));
  const int32x4_t one = vdupq_n_s32(1);
  const int32x4_t mask = vsubq_s32(vshlq_s32(one, right), one);
  const int32x4_t remainder = vandq_s32(high, mask);
  const int32x4_t threshold = vsubq_s32(vshrq_n_s32(mask, 1), vshrq_n_s32(high, 31));
  const int32x4_t shifted = vshlq_s32(high, vnegq_s32(right));
  const int32x4_t rounded =
      vsubq_s32(shifted, vreinterpretq_s32_u32(vcgtq_s32(remainder, threshold)));
  const int32x4_t v = vaddq_s32(rounded, vdupq_n_s32(t.zero_point));
  return vminq_s32(vmaxq_s32(v, vdupq_n_s32(t.lo)), vdupq_n_s32(t.hi));
}

// Requantizes a row's 16 accumulators and stores its first t.columns bytes.
template <Rounding Round>
MOBILENET_ALWAYS_INLINE
inline void store_int8_x16_neon(const Int8Tile& t, const int32x4_t (&acc)[4], std::uint8_t* out) {
  int16x8_t words[2];
  for (int h = 0; h < 2; ++h)
    words[h] = vcombine_s16(vmovn_s32(requantize_neon<Round>(t, acc[2 * h], 8 * h)),
                            vmovn_s32(requantize_neon<Round>(t, acc[2 * h + 1], 8 * h + 4)));
  const uint8x16_t bytes = vcombine_u8(vqmovun_s16(words[0]), vqmovun_s16(words[1]));
  if (t.columns >= 16) {
    vst1q_u8(out, bytes);
  } else {
    std::uint8_t lanes[16];
    vst1q_u8(lanes, bytes);
    std::memcpy(out, lanes, static_cast<std::size_t>(t.columns));
  }
}

template <int Rows>
MOBILENET_ALWAYS_INLINE inline void init_int8_acc_neon(const Int8Tile& t, int32x4_t (&acc)[Rows][4]) {
  for (int i = 0; i < Rows; ++i)
    for (int v = 0; v < 4; ++v)
      acc[i][v] = vaddq_s32(vld1q_s32(t.columns_data.offset + 4 * v), vdupq_n_s32(t.row_offset[i]));
}

// acc[i] += group x[i] (4 bytes of A, zero past k) times the 64-byte group at b.
template <int Rows>
MOBILENET_ALWAYS_INLINE
inline void accumulate_group_neon(int32x4_t (&acc)[Rows][4], const std::uint32_t (&x)[Rows], const std::int8_t* b) {
  const int8x16x4_t w = vld4q_s8(b);  // w.val[q]: k = 4g + q of the 16 columns
  int16x8_t lo[4], hi[4];
  for (int q = 0; q < 4; ++q) lo[q] = vmovl_s8(vget_low_s8(w.val[q])), hi[q] = vmovl_s8(vget_high_s8(w.val[q]));
  for (int i = 0; i < Rows; ++i) {
    const int16x4_t a = vget_low_s16(vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(x[i]))));
    acc[i][0] = vmlal_lane_s16(acc[i][0], vget_low_s16(lo[0]), a, 0);
    acc[i][1] = vmlal_lane_s16(acc[i][1], vget_high_s16(lo[0]), a, 0);
    acc[i][2] = vmlal_lane_s16(acc[i][2], vget_low_s16(hi[0]), a, 0);
    acc[i][3] = vmlal_lane_s16(acc[i][3], vget_high_s16(hi[0]), a, 0);
    acc[i][0] = vmlal_lane_s16(acc[i][0], vget_low_s16(lo[1]), a, 1);
    acc[i][1] = vmlal_lane_s16(acc[i][1], vget_high_s16(lo[1]), a, 1);
    acc[i][2] = vmlal_lane_s16(acc[i][2], vget_low_s16(hi[1]), a, 1);
    acc[i][3] = vmlal_lane_s16(acc[i][3], vget_high_s16(hi[1]), a, 1);
    acc[i][0] = vmlal_lane_s16(acc[i][0], vget_low_s16(lo[2]), a, 2);
    acc[i][1] = vmlal_lane_s16(acc[i][1], vget_high_s16(lo[2]), a, 2);
    acc[i][2] = vmlal_lane_s16(acc[i][2], vget_low_s16(hi[2]), a, 2);
    acc[i][3] = vmlal_lane_s16(acc[i][3], vget_high_s16(hi[2]), a, 2);
    acc[i][0] = vmlal_lane_s16(acc[i][0], vget_low_s16(lo[3]), a, 3);
    acc[i][1] = vmlal_lane_s16(acc[i][1], vget_high_s16(lo[3]), a, 3);
    acc[i][2] = vmlal_lane_s16(acc[i][2], vget_low_s16(hi[3]), a, 3);
    acc[i][3] = vmlal_lane_s16(acc[i][3], vget_high_s16(hi[3]), a, 3);
  }
}

}  // namespace detail

template <int Rows, Rounding Round = Rounding::Double>
void int8_gemm_tile_neon(const Int8Tile& t) {
  static_assert(Rows >= 1 && Rows <= kInt8GemmNeonRows, "tile too tall");
  int32x4_t acc[Rows][4];
  detail::init_int8_acc_neon<Rows>(t, acc);
  const Index full = t.k / 4, tail = t.k % 4;
  std::uint32_t x[Rows];
  for (Index g = 0; g < full; ++g) {
    for (int i = 0; i < Rows; ++i) x[i] = detail::load_int8_group(t.a + i * t.lda + 4 * g);
    detail::accumulate_group_neon<Rows>(acc, x, t.b + g * 64);
  }
  if (tail) {
    for (int i = 0; i < Rows; ++i) x[i] = detail::load_int8_group(t.a + i * t.lda + 4 * full, tail);
    detail::accumulate_group_neon<Rows>(acc, x, t.b + full * 64);
  }
  for (int i = 0; i < Rows; ++i) detail::store_int8_x16_neon<Round>(t, acc[i], t.c + i * t.ldc);
}

#if MOBILENET_NEON_DOTPROD
template <int Rows, Rounding Round = Rounding::Double>
void int8_gemm_tile_neon_dot(const Int8Tile& t) {
  static_assert(Rows >= 1 && Rows <= kInt8GemmNeonRows, "tile too tall");
  int32x4_t acc[Rows][4];
  detail::init_int8_acc_neon<Rows>(t, acc);
  const Index groups = (t.k + 3) / 4;
  for (Index g = 0; g < groups; ++g) {
    const std::int8_t* b = t.b + g * 64;
    const int8x16_t w[4] = {vld1q_s8(b), vld1q_s8(b + 16), vld1q_s8(b + 32), vld1q_s8(b + 48)};
    const Index count = std::min<Index>(4, t.k - 4 * g);
    for (int i = 0; i < Rows; ++i) {
      const std::uint32_t group = detail::load_int8_group(t.a + i * t.lda + 4 * g, count) ^ 0x80808080u;
      const int8x16_t x = vreinterpretq_s8_u32(vdupq_n_u32(group));
      for (int v = 0; v < 4; ++v) acc[i][v] = vdotq_s32(acc[i][v], w[v], x);
    }
  }
  for (int i = 0; i < Rows; ++i) detail::store_int8_x16_neon<Round>(t, acc[i], t.c + i * t.ldc);
}
#endif

}  // namespace kernels
}  // namespace mobilenet

#endif
