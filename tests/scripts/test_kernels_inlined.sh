#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The helpers of every kernel's hot loop (a step of k, a row's FMAs, a tile's start and end, a
# vector load or requantization) are inlined in every translation unit: a compiler that calls
# one of them out of line keeps the accumulators it shares with its caller in memory, and the
# kernel runs at a fraction of its speed (GCC does so in a large unit unless forced). PROBE is
# tests/kernels_inline_probe.cpp built with -fno-inline, which inlines only what is forced; no
# helper below may appear in it as a function of its own.
#   test_kernels_inlined.sh NM PROBE
set -uo pipefail
nm_tool="$1" probe="$2"
helpers=(
  # fp32 GEMM (kernels/gemm/avx2.hpp, avx512.hpp)
  'detail::(row_step16_avx2|step16_avx2|accumulate16_avx2_by4|accumulate16_avx2|start_tile16_avx2|finish_tile16_avx2|tile16_avx2|avx2_lane_mask)[<(]'
  'detail::(accumulate_tile_avx512|store_tile_avx512|accumulate_pair_avx512)[<(]'
  # fp32 depthwise (kernels/depthwise3x3_*.hpp, depthwise3x3_impl.inl)
  'depthwise3x3_(avx2|avx512|neon|generic)_impl::(Vec::[a-z_]+|load_lanes|store_lanes|activate_lanes|interior_tile|load_weights|block_tile)[<(]'
  'depthwise3x3_(avx2|avx512|neon|generic)_impl::(interior|block)_pixels<.*\{lambda'
  # int8 GEMM (kernels/int8/gemm_*.hpp, requantize_avx512.hpp)
  'detail::(multiply_by_quantized_multiplier[a-z_0-9]*|load_int32x8|requantize_(avx2|neon)|store_int8_x16_[a-z0-9]+|even_bytes_signed|odd_bytes_signed|accumulate_group_[a-z_0-9]+|store_int8_tile_avx512|dpbusd_[a-z_0-9]+|load_int8_group|init_int8_acc_neon)[<(]'
  '(OneShiftRequantAvx512|HighShiftRequantAvx512|DoubleRequantAvx512|PlainRequantAvx512|BytePackAvx512)::(operator\(\)|lanes|addend)'
  # int8 depthwise (kernels/int8/depthwise3x3_*.hpp, depthwise3x3_impl.inl)
  '(DepthwiseInt8Ymm|depthwise3x3_int8_[a-z0-9]+_impl::Vec)::[a-z_]+[<(]'
  'depthwise3x3_int8_[a-z0-9]+_impl::(load_col_lanes|store_lanes|store_tile|tile_col|quad_row_bytes|interleave_quads|quad_bytes)[<(]'
)
symbols="$("$nm_tool" -C "$probe")" || { echo "FAIL: $nm_tool -C $probe"; exit 1; }
# The probe must hold the kernels at all, or the check below proves nothing.
if ! grep -qE 'two_panel_tile_avx2|gemm_tile_neon|gemm_tile_generic' <<<"$symbols"; then
  echo "FAIL: no GEMM kernel in $probe"
  exit 1
fi
failures=0
for pattern in "${helpers[@]}"; do
  found="$(grep -E " [tTwW] .*mobilenet::kernels::.*($pattern)" <<<"$symbols")"
  if [[ -n "$found" ]]; then
    echo "FAIL: called out of line (mark them MOBILENET_ALWAYS_INLINE):"
    echo "$found" | head -n 20
    failures=$((failures + 1))
  else
    echo "ok   inlined: $pattern"
  fi
done
exit $((failures > 0))
