// SPDX-License-Identifier: MIT
// The 8-bit 3x3 depthwise algorithm, written once for every ISA. Not a standalone header:
// each int8/depthwise3x3_<isa>.hpp includes it inside its own namespace after defining
//   struct Vec   Reg (kWidth int32 lanes, one per channel), Col (one input pixel's channels,
//                widened), W (a packed weight word per channel), Zp (a column of zp_in bytes),
//                Requant (one block's requantization parameters), Tail (lanes of a partial
//                channel block), kTileStride1/2, and tail(n), zero_point(zp), load_col(p[, tail]),
//                pair(a, b) (the int16 pairs (a, b)), load(p), sub(a, b), load_w(p),
//                dot(acc, pair, w), load_requant(view, c), store(out, acc, rq[, tail]);
//   MOBILENET_DW8_TARGET   the function attribute that enables the ISA (empty for generic).
//
// Per kernel row and output pixel at input column x: two pair products,
// (in[x], in[x+1]) . (w0, w1) and (in[x+1], in[x+2]) . (0, w2) (DepthwiseInt8View). At
// stride 1 the second pair of a pixel is the first pair of the next, so a tile of 8 pixels
// builds 9 pairs from 10 columns per row. Loop order: output row -> tile of neighbouring
// interior pixels -> channel block; border pixels run a per-pixel path in which taps outside
// the input read a column equal to the zero point; rows outside the input are left out (with
// their zero-point term, DepthwiseInt8View).

// A run of output pixels of one row, all with the same input rows.
struct Int8RowRun {
  const std::uint8_t* in[3] = {nullptr, nullptr, nullptr};  // input column 0 of each valid row
  int kernel_row[3] = {0, 0, 0};                            // the kernel row each one meets
  int rows = 0;
  const DepthwiseInt8View* view = nullptr;
  std::uint8_t* out = nullptr;  // output pixel 0 of the row
  Index channels = 0, in_stride = 0, out_stride = 0, stride = 1, pad_left = 0, in_w = 0;
};

template <bool Partial>
MOBILENET_DW8_TARGET inline Vec::Col load_col_lanes(const std::uint8_t* p, Vec::Tail tail) {
  if constexpr (Partial) return Vec::load_col(p, tail);
  else return Vec::load_col(p);
}

template <bool Partial>
MOBILENET_DW8_TARGET inline void store_lanes(std::uint8_t* out, Vec::Reg acc, const Vec::Requant& rq,
                                             Vec::Tail tail) {
  if constexpr (Partial) Vec::store(out, acc, rq, tail);
  else Vec::store(out, acc, rq);
}

// bias - zp_in * sum (w - zw) over the rows in range, for channels [c, c + kWidth).
template <int Rows>
MOBILENET_DW8_TARGET inline Vec::Reg initial_sum(const Int8RowRun& run, Index c) {
  const DepthwiseInt8View& v = *run.view;
  Vec::Reg acc = Vec::load(v.bias + c);
  for (int r = 0; r < Rows; ++r) acc = Vec::sub(acc, Vec::load(v.zp_row_sums + run.kernel_row[r] * v.padded + c));
  return acc;
}

// Tile output pixels [first, first + Tile) of an interior run, channels [c, c + kWidth) (fewer
// when Partial): every tap in range, input columns shared between neighbouring pixels.
template <int Rows, int Stride, int Tile, bool Partial>
MOBILENET_DW8_TARGET inline void interior_tile(const Int8RowRun& run, Index first, Index c, Vec::Tail tail) {
  constexpr int kPairs = (Tile - 1) * Stride + 2;  // pairs of neighbouring columns a tile reads
  const DepthwiseInt8View& v = *run.view;
  const Index is = run.in_stride;
  Vec::Reg acc[Tile];
  acc[0] = initial_sum<Rows>(run, c);
  for (int t = 1; t < Tile; ++t) acc[t] = acc[0];
  for (int r = 0; r < Rows; ++r) {
    const std::uint8_t* in = run.in[r] + (first * Stride - run.pad_left) * is + c;
    const Vec::W w01 = Vec::load_w(v.w01 + run.kernel_row[r] * v.padded + c);
    const Vec::W w2 = Vec::load_w(v.w2 + run.kernel_row[r] * v.padded + c);
    Vec::Pair pairs[kPairs];
    Vec::Col left = load_col_lanes<Partial>(in, tail);
    for (int j = 0; j < kPairs; ++j) {
      const Vec::Col right = load_col_lanes<Partial>(in + (j + 1) * is, tail);
      pairs[j] = Vec::pair(left, right);
      left = right;
    }
    for (int t = 0; t < Tile; ++t) {
      acc[t] = Vec::dot(acc[t], pairs[t * Stride], w01);
      acc[t] = Vec::dot(acc[t], pairs[t * Stride + 1], w2);
    }
  }
  const Vec::Requant rq = Vec::load_requant(v, c);
  std::uint8_t* out = run.out + first * run.out_stride + c;
  for (int t = 0; t < Tile; ++t) store_lanes<Partial>(out + t * run.out_stride, acc[t], rq, tail);
}

template <int Rows, int Stride, int Tile>
MOBILENET_DW8_TARGET inline void interior_pixels(const Int8RowRun& run, Index first) {
  Index c = 0;
  for (; c + Vec::kWidth <= run.channels; c += Vec::kWidth)
    interior_tile<Rows, Stride, Tile, false>(run, first, c, Vec::tail(Vec::kWidth));
  if (c < run.channels) interior_tile<Rows, Stride, Tile, true>(run, first, c, Vec::tail(run.channels - c));
}

// Output pixels [first, end) of the interior in tiles of Tile, the rest in halving tiles.
template <int Rows, int Stride, int Tile = Stride == 1 ? Vec::kTileStride1 : Vec::kTileStride2>
MOBILENET_DW8_TARGET void interior_run(const Int8RowRun& run, Index first, Index end) {
  for (; first + Tile <= end; first += Tile) interior_pixels<Rows, Stride, Tile>(run, first);
  if constexpr (Tile > 1) interior_run<Rows, Stride, Tile / 2>(run, first, end);
}

template <int Stride>
MOBILENET_DW8_TARGET inline void interior_rows(const Int8RowRun& run, Index first, Index end) {
  switch (run.rows) {
    case 3: interior_run<3, Stride>(run, first, end); break;
    case 2: interior_run<2, Stride>(run, first, end); break;
    default: interior_run<1, Stride>(run, first, end); break;
  }
}

// One border pixel (or any pixel at a stride without a tile), channels [c, c + kWidth).
template <bool Partial>
MOBILENET_DW8_TARGET inline void border_block(const Int8RowRun& run, Index ox, Index c, Vec::Tail tail,
                                              Vec::Zp zp) {
  const DepthwiseInt8View& v = *run.view;
  const Index ix = ox * run.stride - run.pad_left;
  Vec::Reg acc = Vec::load(v.bias + c);
  for (int r = 0; r < run.rows; ++r) {
    acc = Vec::sub(acc, Vec::load(v.zp_row_sums + run.kernel_row[r] * v.padded + c));
    Vec::Col x[3];
    for (Index k = 0; k < 3; ++k)
      x[k] = ix + k >= 0 && ix + k < run.in_w ? load_col_lanes<Partial>(run.in[r] + (ix + k) * run.in_stride + c, tail)
                                               : zp;
    acc = Vec::dot(acc, Vec::pair(x[0], x[1]), Vec::load_w(v.w01 + run.kernel_row[r] * v.padded + c));
    acc = Vec::dot(acc, Vec::pair(x[1], x[2]), Vec::load_w(v.w2 + run.kernel_row[r] * v.padded + c));
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
    for (Index ky = rows.lo; ky < rows.hi; ++ky, ++run.rows) {
      run.in[run.rows] = p.input + (iy + ky) * p.in_w * is;
      run.kernel_row[run.rows] = static_cast<int>(ky);
    }
    run.view = &v;
    run.out = p.output + (oy - p.row_begin) * p.out_w * os;
    run.channels = p.channels;
    run.in_stride = is;
    run.out_stride = os;
    run.stride = s;
    run.pad_left = p.pad_left;
    run.in_w = p.in_w;
    const bool row_tiled = run.rows > 0 && interior.hi > interior.lo;
    for (Index ox = 0; ox < p.out_w; ++ox) {
      if (row_tiled && ox == interior.lo) {
        if (s == 1) interior_rows<1>(run, interior.lo, interior.hi);
        else interior_rows<2>(run, interior.lo, interior.hi);
        ox = interior.hi - 1;
        continue;
      }
      border_pixel(run, ox, zp);
    }
  }
}
