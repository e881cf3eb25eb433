// SPDX-License-Identifier: MIT
// The 8-bit 3x3 depthwise algorithm, written once for every ISA. Not a standalone header:
// each int8/depthwise3x3_<isa>.hpp includes it inside its own namespace after defining
//   struct Vec   Reg (kWidth int32 lanes, one per channel), Col (one input pixel's channels,
//                widened to int32 lanes or int16), Pair (two Cols as int16 pairs), W (a packed
//                weight word per channel), Zp (a column of zp_in bytes), Requant (one block's
//                requantization parameters, derived from the packed ones), Tail (lanes
//                of a partial channel block),
//                kTileStride1/2, and tail(n), zero_point(zp), load_col(p[, tail]), pair(a, b),
//                load(p), load_w(p), dot(acc, pair, w) (both int16 halves of w),
//                dot_low(acc, col, w) (the low half only), load_requant(view, c),
//                store(out, acc, rq[, tail]), kPacksFourPixels and, when it is set,
//                store_four<Partial>(out, out_stride, acc, rq, tail) (four pixels at once);
//   MOBILENET_DW8_TARGET   the function attribute that enables the ISA (empty for generic).
//
// Per input column x of a tile: one pair of kernel rows 0 and 1, (in0[x], in1[x]) . (w0k, w1k),
// and row 2 alone, in2[x] . w2k, for each of the up to 3 output pixels whose tap k falls on x
// (DepthwiseInt8View). Taps outside the input read a column of zp_in, which the packed bias
// cancels, so border rows run the same tile with those loads replaced by a constant. Loop
// order: output row -> tile of neighbouring interior pixels -> channel block; border pixels
// run a per-pixel path.

// One output row: its input rows and where its pixels go.
struct Int8RowRun {
  const std::uint8_t* in[3] = {nullptr, nullptr, nullptr};  // input column 0 of kernel row 0..2, or null
  int present = 0;                                          // bit r set: kernel row r is in the input
  const DepthwiseInt8View* view = nullptr;
  std::uint8_t* out = nullptr;  // output pixel 0 of the row
  Index channels = 0, in_stride = 0, out_stride = 0, stride = 1, pad_left = 0, in_w = 0;
};

template <bool Partial>
MOBILENET_DW8_TARGET MOBILENET_ALWAYS_INLINE inline Vec::Col load_col_lanes(const std::uint8_t* p, Vec::Tail tail) {
  if constexpr (Partial) return Vec::load_col(p, tail);
  else return Vec::load_col(p);
}

// A column of kernel row `Row` in a tile: loaded when the row is in the input, else zp_in.
template <int Present, int Row, bool Partial>
MOBILENET_ALWAYS_INLINE
MOBILENET_DW8_TARGET inline Vec::Col tile_col(const Int8RowRun& run, Index offset, Vec::Tail tail, Vec::Zp zp) {
  if constexpr ((Present >> Row & 1) != 0) return load_col_lanes<Partial>(run.in[Row] + offset, tail);
  else return zp;
}

template <bool Partial>
MOBILENET_ALWAYS_INLINE
MOBILENET_DW8_TARGET inline void store_lanes(std::uint8_t* out, Vec::Reg acc, const Vec::Requant& rq,
                                             Vec::Tail tail) {
  if constexpr (Partial) Vec::store(out, acc, rq, tail);
  else Vec::store(out, acc, rq);
}

// The Tile pixels of a tile, out_stride bytes apart: four at a time where V packs them.
template <typename V, int Tile, bool Partial>
MOBILENET_ALWAYS_INLINE
MOBILENET_DW8_TARGET inline void store_tile(std::uint8_t* out, Index out_stride,
                                                                       const typename V::Reg (&acc)[Tile],
                                                                       const typename V::Requant& rq, typename V::Tail tail) {
  int t = 0;
  if constexpr (V::kPacksFourPixels)
    for (; t + 4 <= Tile; t += 4) V::template store_four<Partial>(out + t * out_stride, out_stride, acc + t, rq, tail);
  for (; t < Tile; ++t) store_lanes<Partial>(out + t * out_stride, acc[t], rq, tail);
}

// Output pixels [first, first + Tile) of an interior run, channels [c, c + kWidth) (fewer when
// Partial): every column in range, each column loaded once for the pixels that share it.
template <int Present, int Stride, int Tile, bool Partial>
MOBILENET_DW8_TARGET inline void interior_tile(const Int8RowRun& run, Index first, Index c, Vec::Tail tail,
                                               Vec::Zp zp) {
  constexpr int kCols = (Tile - 1) * Stride + 3;  // input columns a tile reads
  const DepthwiseInt8View& v = *run.view;
  const Index is = run.in_stride, offset = (first * Stride - run.pad_left) * is + c;
  Vec::W w01[3], w2[3];
  for (int k = 0; k < 3; ++k) {
    w01[k] = Vec::load_w(v.w01 + k * v.padded + c);
    w2[k] = Vec::load_w(v.w2 + k * v.padded + c);
  }
  Vec::Reg acc[Tile];
  acc[0] = Vec::load(v.bias + c);
  for (int t = 1; t < Tile; ++t) acc[t] = acc[0];
  // Loops of constant trip count without branches, which the compiler unrolls completely.
  Vec::Pair rows01[kCols];
  Vec::Col row2[kCols];
  for (int j = 0; j < kCols; ++j) {
    const Index at = offset + j * is;
    rows01[j] =
        Vec::pair(tile_col<Present, 0, Partial>(run, at, tail, zp), tile_col<Present, 1, Partial>(run, at, tail, zp));
    row2[j] = tile_col<Present, 2, Partial>(run, at, tail, zp);
  }
  for (int t = 0; t < Tile; ++t)
    for (int k = 0; k < 3; ++k) {
      acc[t] = Vec::dot(acc[t], rows01[t * Stride + k], w01[k]);
      acc[t] = Vec::dot_low(acc[t], row2[t * Stride + k], w2[k]);
    }
  const Vec::Requant rq = Vec::load_requant(v, c);
  std::uint8_t* out = run.out + first * run.out_stride + c;
  store_tile<Vec, Tile, Partial>(out, run.out_stride, acc, rq, tail);
}

template <int Present, int Stride, int Tile>
MOBILENET_DW8_TARGET inline void interior_pixels(const Int8RowRun& run, Index first, Vec::Zp zp) {
  Index c = 0;
  for (; c + Vec::kWidth <= run.channels; c += Vec::kWidth)
    interior_tile<Present, Stride, Tile, false>(run, first, c, Vec::tail(Vec::kWidth), zp);
  if (c < run.channels)
    interior_tile<Present, Stride, Tile, true>(run, first, c, Vec::tail(run.channels - c), zp);
}

// Output pixels [first, end) of the interior in tiles of Tile, the rest in halving tiles.
template <int Present, int Stride, int Tile = Stride == 1 ? Vec::kTileStride1 : Vec::kTileStride2>
MOBILENET_DW8_TARGET void interior_run(const Int8RowRun& run, Index first, Index end, Vec::Zp zp) {
  for (; first + Tile <= end; first += Tile) interior_pixels<Present, Stride, Tile>(run, first, zp);
  if constexpr (Tile > 1) interior_run<Present, Stride, Tile / 2>(run, first, end, zp);
}

// The rows in the input are a contiguous part of the kernel's three.
template <int Stride>
MOBILENET_DW8_TARGET inline void interior_rows(const Int8RowRun& run, Index first, Index end, Vec::Zp zp) {
  switch (run.present) {
    case 7: interior_run<7, Stride>(run, first, end, zp); break;
    case 6: interior_run<6, Stride>(run, first, end, zp); break;
    case 3: interior_run<3, Stride>(run, first, end, zp); break;
    case 4: interior_run<4, Stride>(run, first, end, zp); break;
    case 2: interior_run<2, Stride>(run, first, end, zp); break;
    default: interior_run<1, Stride>(run, first, end, zp); break;
  }
}

// One border pixel (or any pixel at a stride without a tile), channels [c, c + kWidth).
template <bool Partial>
MOBILENET_DW8_TARGET inline void border_block(const Int8RowRun& run, Index ox, Index c, Vec::Tail tail,
                                              Vec::Zp zp) {
  const DepthwiseInt8View& v = *run.view;
  const Index ix = ox * run.stride - run.pad_left;
  Vec::Reg acc = Vec::load(v.bias + c);
  for (Index k = 0; k < 3; ++k) {
    const bool column_in = ix + k >= 0 && ix + k < run.in_w;
    Vec::Col x[3];
    for (int r = 0; r < 3; ++r)
      x[r] = column_in && run.in[r] ? load_col_lanes<Partial>(run.in[r] + (ix + k) * run.in_stride + c, tail) : zp;
    acc = Vec::dot(acc, Vec::pair(x[0], x[1]), Vec::load_w(v.w01 + k * v.padded + c));
    acc = Vec::dot_low(acc, x[2], Vec::load_w(v.w2 + k * v.padded + c));
  }
  store_lanes<Partial>(run.out + ox * run.out_stride + c, acc, Vec::load_requant(v, c), tail);
}

MOBILENET_DW8_TARGET inline void border_pixel(const Int8RowRun& run, Index ox, Vec::Zp zp) {
  Index c = 0;
  for (; c + Vec::kWidth <= run.channels; c += Vec::kWidth) border_block<false>(run, ox, c, Vec::tail(Vec::kWidth), zp);
  if (c < run.channels) border_block<true>(run, ox, c, Vec::tail(run.channels - c), zp);
}

// Output rows [row_begin, row_end) of p; see Depthwise3x3Int8Params.
MOBILENET_DW8_TARGET inline void run_depthwise3x3_int8(const Depthwise3x3Int8Params& p, const DepthwiseInt8View& v) {
  assert(valid_int8_params(p));
  const Index s = p.stride, is = int8_in_stride(p), os = int8_out_stride(p);
  const bool tiled = s == 1 || s == 2;
  const Int8TapRange interior = tiled ? int8_interior_columns(p) : Int8TapRange{};
  const Vec::Zp zp = Vec::zero_point(v.input_zero_point);
  for (Index oy = p.row_begin; oy < p.row_end; ++oy) {
    Int8RowRun run;
    const Index iy = oy * s - p.pad_top;
    const Int8TapRange rows = int8_tap_range(iy, p.in_h);
    for (Index ky = rows.lo; ky < rows.hi; ++ky) {
      run.in[ky] = p.input + (iy + ky) * p.in_w * is;
      run.present |= 1 << ky;
    }
    run.view = &v;
    run.out = p.output + (oy - p.row_begin) * p.out_w * os;
    run.channels = p.channels;
    run.in_stride = is;
    run.out_stride = os;
    run.stride = s;
    run.pad_left = p.pad_left;
    run.in_w = p.in_w;
    const bool row_tiled = run.present != 0 && interior.hi > interior.lo;
    for (Index ox = 0; ox < p.out_w; ++ox) {
      if (row_tiled && ox == interior.lo) {
        if (s == 1) interior_rows<1>(run, interior.lo, interior.hi, zp);
        else interior_rows<2>(run, interior.lo, interior.hi, zp);
        ox = interior.hi - 1;
        continue;
      }
      border_pixel(run, ox, zp);
    }
  }
}
