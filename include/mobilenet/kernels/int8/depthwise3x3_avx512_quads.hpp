// SPDX-License-Identifier: MIT
#pragma once
// AVX-512 VNNI 8-bit 3x3 depthwise convolution on byte quads, for the layers packed in the
// quad layout (DepthwiseInt8View::quads: every w - zw fits int8, as in every int8 file, and at
// least kDepthwiseInt8QuadBlock channels). Per input column, the bytes of the three kernel
// rows for 64 channels become 4 zmm of (row 0, row 1, row 2, 0) quads through 4 byte and 4
// word unpacks, and one vpdpbusd per kernel column adds 3 taps of 16 channels: 3 multiply-adds
// a pixel and 16 channels where the int16 pair kernel needs 6. The unpacks stay within 128-bit
// lanes, which fixes the channel order of the packed arrays (DepthwiseInt8View) and lets the
// saturating packs of the 4 vectors give the bytes back in channel order.

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "mobilenet/kernels/int8/depthwise3x3_avx512.hpp"

#if defined(MOBILENET_HAVE_DEPTHWISE3X3_INT8_AVX512)

namespace mobilenet {
namespace kernels {
namespace detail {
namespace depthwise3x3_int8_avx512_impl {

// One output row of the quad kernel.
struct QuadRow {
  const std::uint8_t* in[3] = {nullptr, nullptr, nullptr};  // input column 0 of kernel row 0..2, or null
  const DepthwiseInt8View* view = nullptr;
  std::uint8_t* out = nullptr;  // output pixel 0 of the row
  Index in_stride = 0, out_stride = 0, stride = 1, pad_left = 0, in_w = 0;
};

// One block of 64 channels: its first channel, the lanes that exist, a column of zp_in bytes and
// the requantization of its 4 vectors.
struct QuadBlock {
  MOBILENET_TARGET_AVX512_VNNI QuadBlock(const DepthwiseInt8View& v, Index first, Index lanes)
      : c(first),
        mask(lanes >= 64 ? ~__mmask64(0) : (__mmask64(1) << lanes) - 1),
        zero_point(_mm512_set1_epi8(static_cast<char>(v.input_zero_point))),
        requant{Vec::load_requant(v, first), Vec::load_requant(v, first + 16), Vec::load_requant(v, first + 32),
                Vec::load_requant(v, first + 48)},
        high{high_shift(v, first), high_shift(v, first + 16), high_shift(v, first + 32), high_shift(v, first + 48)} {}
  // The high-dword form of 16 channels' requantization (used where v.high_shift).
  MOBILENET_ALWAYS_INLINE
  MOBILENET_TARGET_AVX512_VNNI static HighShiftRequantAvx512 high_shift(const DepthwiseInt8View& v, Index first) {
    const __m128i shift = _mm_loadu_si128(reinterpret_cast<const __m128i*>(v.shift + first));
    const __m512i right = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_maskz_cvtepi8_epi32(0xFFFF, shift));
    return HighShiftRequantAvx512(_mm512_loadu_si512(v.multiplier + first), right, true, v.output_zero_point);
  }
  Index c;
  __mmask64 mask;
  __m512i zero_point;
  Vec::Requant requant[4];
  HighShiftRequantAvx512 high[4];
};

// Row `r`'s bytes of the block at input column ix, or zp_in where the tap is outside the input.
template <bool Checked>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512_VNNI inline __m512i quad_row_bytes(const QuadRow& row, int r,
                                                                                     Index ix, const QuadBlock& b) {
  if constexpr (Checked)
    if (row.in[r] == nullptr || ix < 0 || ix >= row.in_w) return b.zero_point;
  return _mm512_maskz_loadu_epi8(b.mask, row.in[r] + ix * row.in_stride + b.c);
}

// The three kernel rows' bytes of 64 lanes as 4 vectors of (row 0, row 1, row 2, 0) quads, in
// the unpacks' 128-bit lane order (quad_entry).
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512_VNNI inline void interleave_quads(__m512i r0, __m512i r1, __m512i r2,
                                                                                    __m512i (&quad)[4]) {
  const __mmask64 all8 = ~__mmask64(0);
  const __mmask32 all16 = 0xFFFFFFFF;
  const __m512i zero = _mm512_setzero_si512();
  const __m512i low01 = _mm512_maskz_unpacklo_epi8(all8, r0, r1), high01 = _mm512_maskz_unpackhi_epi8(all8, r0, r1);
  const __m512i low2 = _mm512_maskz_unpacklo_epi8(all8, r2, zero), high2 = _mm512_maskz_unpackhi_epi8(all8, r2, zero);
  quad[0] = _mm512_maskz_unpacklo_epi16(all16, low01, low2);
  quad[1] = _mm512_maskz_unpackhi_epi16(all16, low01, low2);
  quad[2] = _mm512_maskz_unpacklo_epi16(all16, high01, high2);
  quad[3] = _mm512_maskz_unpackhi_epi16(all16, high01, high2);
}

// The block's 64 output bytes, in channel order, from its 4 accumulators.
template <bool High>
MOBILENET_ALWAYS_INLINE
MOBILENET_TARGET_AVX512_VNNI inline __m512i quad_bytes(const __m512i (&acc)[4], const QuadBlock& b) {
  if constexpr (High)
    return b.requant[0].pack.template lanes<false>(b.high[0](acc[0]), b.high[1](acc[1]), b.high[2](acc[2]),
                                                   b.high[3](acc[3]));
  else
    return b.requant[0].pack.lanes(Vec::requantize_raw(acc[0], b.requant[0]), Vec::requantize_raw(acc[1], b.requant[1]),
                                   Vec::requantize_raw(acc[2], b.requant[2]), Vec::requantize_raw(acc[3], b.requant[3]));
}

// Output pixels [first, first + Tile) of the row, the block's channels. Stride is the tile's
// column reuse (1 or 2); a tile of one pixel runs any stride. Checked: some tap may be outside
// the input. High: the requantization's high-dword form (DepthwiseInt8View::high_shift).
template <int Stride, int Tile, bool Checked, bool High>
MOBILENET_TARGET_AVX512_VNNI MOBILENET_DW8_NOINLINE void quad_tile(const QuadRow& row, Index first, const QuadBlock& b) {
  constexpr int kCols = (Tile - 1) * Stride + 3;
  const DepthwiseInt8View& v = *row.view;
  __m512i acc[Tile][4];
  // Every loop unrolled, so that the accumulators stay in registers.
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512i bias = _mm512_loadu_si512(v.bias + b.c + 16 * j);
#pragma GCC unroll 8
    for (int t = 0; t < Tile; ++t) acc[t][j] = bias;
  }
  const Index ix0 = first * row.stride - row.pad_left;
#pragma GCC unroll 16
  for (int x = 0; x < kCols; ++x) {
    __m512i quad[4];
    interleave_quads(quad_row_bytes<Checked>(row, 0, ix0 + x, b), quad_row_bytes<Checked>(row, 1, ix0 + x, b),
                     quad_row_bytes<Checked>(row, 2, ix0 + x, b), quad);
#pragma GCC unroll 8
    for (int t = 0; t < Tile; ++t) {
      const int k = x - t * Stride;  // the kernel column that column x is for pixel t
      if (k < 0 || k > 2) continue;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j)
        dpbusd_avx512(acc[t][j], quad[j], _mm512_loadu_si512(v.quads + k * v.padded + b.c + 16 * j));
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < Tile; ++t) {
    const __m512i bytes = quad_bytes<High>(acc[t], b);
    _mm512_mask_storeu_epi8(row.out + (first + t) * row.out_stride + b.c, b.mask, bytes);
  }
}

// Output pixels [first, end) in tiles of Tile, the rest in halving tiles; tiles with every tap
// inside the input skip the checks.
template <int Stride, int Tile, bool High>
MOBILENET_TARGET_AVX512_VNNI void quad_run(const QuadRow& row, Index first, Index end, const QuadBlock& b,
                                           bool rows_present) {
  constexpr int kCols = (Tile - 1) * Stride + 3;
  for (; first + Tile <= end; first += Tile) {
    const Index ix0 = first * row.stride - row.pad_left;
    if (rows_present && ix0 >= 0 && ix0 + kCols <= row.in_w) quad_tile<Stride, Tile, false, High>(row, first, b);
    else quad_tile<Stride, Tile, true, High>(row, first, b);
  }
  if constexpr (Tile > 1) quad_run<Stride, Tile / 2, High>(row, first, end, b, rows_present);
}

template <bool High>
MOBILENET_TARGET_AVX512_VNNI void quad_row(const QuadRow& row, Index out_w, const QuadBlock& b, bool rows_present) {
  constexpr int kTile = kDepthwiseInt8QuadTile;
  if (row.stride == 1) quad_run<1, kTile, High>(row, 0, out_w, b, rows_present);
  else if (row.stride == 2) quad_run<2, kTile, High>(row, 0, out_w, b, rows_present);
  else quad_run<1, 1, High>(row, 0, out_w, b, rows_present);  // one pixel a tile: any stride
}

// The paired form of a 32-channel layer (DepthwiseInt8View::quad_pairs) at stride 1 with pixels
// 32 bytes apart: one 64-byte load holds input columns c and c + 1, so the quads' lanes 0-1 serve
// output pixel x and lanes 2-3 pixel x + 1 with the same kernel column, and the packed block
// holds the 32 channels twice. Pixels [first, first + 2 * Pairs) of the row, those below `end`
// stored.
template <int Pairs, bool Checked, bool High>
MOBILENET_TARGET_AVX512_VNNI MOBILENET_DW8_NOINLINE void quad_pair_tile(const QuadRow& row, Index first, Index end, const QuadBlock& b) {
  constexpr int kLoads = 2 * Pairs + 1;
  const DepthwiseInt8View& v = *row.view;
  __m512i acc[Pairs][4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512i bias = _mm512_loadu_si512(v.bias + 16 * j);
#pragma GCC unroll 8
    for (int i = 0; i < Pairs; ++i) acc[i][j] = bias;
  }
  const Index ix0 = first - row.pad_left;
#pragma GCC unroll 16
  for (int x = 0; x < kLoads; ++x) {
    __m512i r[3];
#pragma GCC unroll 3
    for (int k = 0; k < 3; ++k) {
      const std::uint8_t* in = row.in[k];
      const Index c = ix0 + x;
      if constexpr (Checked) {
        // Each half from its own column, or zp_in where that column is outside the input.
        const bool low = in && c >= 0 && c < row.in_w, high = in && c + 1 >= 0 && c + 1 < row.in_w;
        if (low && high) r[k] = _mm512_loadu_si512(in + c * 32);
        else if (low)
          r[k] = _mm512_mask_broadcast_i64x4(b.zero_point, 0x0F, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + c * 32)));
        else if (high)
          r[k] = _mm512_mask_broadcast_i64x4(b.zero_point, 0xF0,
                                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + (c + 1) * 32)));
        else r[k] = b.zero_point;
      } else {
        r[k] = _mm512_loadu_si512(in + c * 32);
      }
    }
    __m512i quad[4];
    interleave_quads(r[0], r[1], r[2], quad);
#pragma GCC unroll 8
    for (int i = 0; i < Pairs; ++i) {
      const int k = x - 2 * i;  // the kernel column that load x is for pair i
      if (k < 0 || k > 2) continue;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j)
        dpbusd_avx512(acc[i][j], quad[j], _mm512_loadu_si512(v.quads + k * v.padded + 16 * j));
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < Pairs; ++i) {
    const __m512i bytes = quad_bytes<High>(acc[i], b);
    const Index pixel = first + 2 * i;
    if (pixel >= end) break;
    std::uint8_t* out = row.out + pixel * row.out_stride;
    const bool both = pixel + 1 < end;
    if (row.out_stride == 32) {
      _mm512_mask_storeu_epi8(out, both ? ~__mmask64(0) : __mmask64(0xFFFFFFFF), bytes);
    } else {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_maskz_extracti64x4_epi64(0xF, bytes, 0));
      if (both)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + row.out_stride), _mm512_maskz_extracti64x4_epi64(0xF, bytes, 1));
    }
  }
}

// Pixels [first, end) of the row in tiles of 2 * Pairs, the rest in halving tiles (the last
// one may hold one pixel).
template <int Pairs, bool High>
MOBILENET_TARGET_AVX512_VNNI void quad_pair_run(const QuadRow& row, Index first, Index end, const QuadBlock& b,
                                                bool rows_present) {
  constexpr int kPixels = 2 * Pairs, kColumns = 2 * Pairs + 2;  // input columns a tile reads
  const Index stop = Pairs == 1 ? end : end - kPixels + 1;
  for (; first < stop; first += kPixels) {
    const Index ix0 = first - row.pad_left;
    if (rows_present && ix0 >= 0 && ix0 + kColumns <= row.in_w) quad_pair_tile<Pairs, false, High>(row, first, end, b);
    else quad_pair_tile<Pairs, true, High>(row, first, end, b);
  }
  if constexpr (Pairs > 1) quad_pair_run<Pairs / 2, High>(row, first, end, b, rows_present);
}

// Output rows [row_begin, row_end) of p, block by block.
MOBILENET_TARGET_AVX512_VNNI inline void run_depthwise3x3_int8_quads(const Depthwise3x3Int8Params& p,
                                                                    const DepthwiseInt8View& v) {
  assert(valid_int8_params(p) && v.quads);
  const Index s = p.stride, is = int8_in_stride(p), os = int8_out_stride(p);
  const bool paired = v.quad_pairs && s == 1 && is == 32;
  for (Index c = 0; c < p.channels; c += kDepthwiseInt8QuadBlock) {
    const QuadBlock b(v, c, std::min<Index>(kDepthwiseInt8QuadBlock, p.channels - c));
    for (Index oy = p.row_begin; oy < p.row_end; ++oy) {
      QuadRow row;
      const Index iy = oy * s - p.pad_top;
      bool rows_present = true;
      for (int ky = 0; ky < 3; ++ky) {
        const bool in = iy + ky >= 0 && iy + ky < p.in_h;
        row.in[ky] = in ? p.input + (iy + ky) * p.in_w * is : nullptr;
        rows_present = rows_present && in;
      }
      row.view = &v;
      row.out = p.output + (oy - p.row_begin) * p.out_w * os;
      row.in_stride = is;
      row.out_stride = os;
      row.stride = s;
      row.pad_left = p.pad_left;
      row.in_w = p.in_w;
      if (paired) {
        if (v.high_shift) quad_pair_run<kDepthwiseInt8QuadTile, true>(row, 0, p.out_w, b, rows_present);
        else quad_pair_run<kDepthwiseInt8QuadTile, false>(row, 0, p.out_w, b, rows_present);
      } else if (v.high_shift) {
        quad_row<true>(row, p.out_w, b, rows_present);
      } else {
        quad_row<false>(row, p.out_w, b, rows_present);
      }
    }
  }
}

}  // namespace depthwise3x3_int8_avx512_impl
}  // namespace detail

// in:  in_h x in_w x C uint8 (one image, NHWC), weights packed in the quad layout
// out: rows [row_begin, row_end) of out_h x out_w x C uint8
MOBILENET_TARGET_AVX512_VNNI inline void depthwise3x3_int8_avx512_quads(const Depthwise3x3Int8Params& params,
                                                                       const detail::DepthwiseInt8View& view) {
  detail::depthwise3x3_int8_avx512_impl::run_depthwise3x3_int8_quads(params, view);
}

}  // namespace kernels
}  // namespace mobilenet
#endif
