// SPDX-License-Identifier: MIT
// The 3x3 depthwise algorithm, written once for every ISA. Not a standalone header: each
// depthwise3x3_<isa>.hpp includes it inside its own namespace after defining
//   struct Vec   the ISA's vector: Reg, Tail (lanes of a partial channel block), kWidth,
//                kTileStride1/2 (output pixels per interior step), tail(n), load/store (full and
//                partial), fma(a, b, acc) = a * b + acc, max, min, splat;
//   MOBILENET_DW_TARGET   the function attribute that enables the ISA (empty for generic),
// so that each copy is compiled for its own instruction set and chosen at run time.
//
// Loop order: output row -> tile of neighbouring output pixels -> channel block. The tile's
// pixels share the input vectors they overlap on (a stride-1 tile of 8 reads 10 columns, not
// 24), and each input pixel is read as one contiguous run of channels. (Keeping a block's
// weights in registers across a whole row would walk memory with a stride of C floats: L1
// set conflicts and short prefetch streams from C = 64 up.)

// A run of output pixels of one row, all with the same input rows.
struct RowRun {
  detail::DepthwiseTaps taps;  // input pointers at the first pixel's leftmost tap column
  const float* bias;
  float* out;                  // first output pixel
  Index count;                 // pixels
  Index channels;              // also the weights' pixel stride
  Index in_stride, out_stride; // floats between neighbouring input / output pixels
  Activation activation;
};

template <bool Partial>
MOBILENET_DW_TARGET MOBILENET_ALWAYS_INLINE inline Vec::Reg load_lanes(const float* p, Vec::Tail tail) {
  if constexpr (Partial) return Vec::load(p, tail);
  else return Vec::load(p);
}

template <bool Partial>
MOBILENET_DW_TARGET MOBILENET_ALWAYS_INLINE inline void store_lanes(float* p, Vec::Reg v, Vec::Tail tail) {
  if constexpr (Partial) Vec::store(p, v, tail);
  else Vec::store(p, v);
}

MOBILENET_DW_TARGET MOBILENET_ALWAYS_INLINE inline Vec::Reg activate_lanes(Vec::Reg v, Activation a) {
  if (a == Activation::None) return v;
  // The bound first: Vec::max and Vec::min return their second operand when either is NaN, so
  // a NaN stays NaN instead of becoming a plausible 0 or 6.
  v = Vec::max(Vec::splat(0.0f), v);
  return a == Activation::ReLU6 ? Vec::min(Vec::splat(6.0f), v) : v;
}

// Tile neighbouring interior output pixels of one channel block: in[r] points at the first
// pixel's leftmost tap in input row r, weights and bias are in registers.
template <int Rows, int Stride, int Tile, bool Partial>
MOBILENET_ALWAYS_INLINE
MOBILENET_DW_TARGET inline void interior_tile(const float* const* in, const Vec::Reg (&w)[Rows][3],
                                              Vec::Reg bias, float* out, Index in_stride,
                                              Index out_stride, Vec::Tail tail, Activation activation) {
  constexpr int kCols = (Tile - 1) * Stride + 3;  // input columns a tile reads
  Vec::Reg acc[Tile];
  for (int t = 0; t < Tile; ++t) acc[t] = bias;
  for (int r = 0; r < Rows; ++r) {
    Vec::Reg x[kCols];
    for (int j = 0; j < kCols; ++j) x[j] = load_lanes<Partial>(in[r] + j * in_stride, tail);
    for (int t = 0; t < Tile; ++t)
      for (int k = 0; k < 3; ++k) acc[t] = Vec::fma(x[t * Stride + k], w[r][k], acc[t]);
  }
  for (int t = 0; t < Tile; ++t)
    store_lanes<Partial>(out + t * out_stride, activate_lanes(acc[t], activation), tail);
}

// interior_tile for the instruction sets whose registers cannot hold the nine weights beside
// the tile (Vec::kWeightsInRegisters false): each input row's three weights are loaded for
// that row only (w[r] points at its tap column 0, columns `channels` floats apart). Each
// accumulator sums its taps in interior_tile's order, so the results are the same bits.
template <int Rows, int Stride, int Tile, bool Partial>
MOBILENET_DW_TARGET inline void interior_tile_row_weights(const float* const* in, const float* const* w,
                                                          Index channels, Vec::Reg bias, float* out, Index in_stride,
                                                          Index out_stride, Vec::Tail tail, Activation activation) {
  constexpr int kCols = (Tile - 1) * Stride + 3;
  Vec::Reg acc[Tile];
  for (int t = 0; t < Tile; ++t) acc[t] = bias;
  for (int r = 0; r < Rows; ++r) {
    const Vec::Reg w0 = load_lanes<Partial>(w[r], tail), w1 = load_lanes<Partial>(w[r] + channels, tail),
                   w2 = load_lanes<Partial>(w[r] + 2 * channels, tail);
    // Unrolled whole (the compiler would not, at stride 2), so that every k below is a constant.
#pragma GCC unroll 32
    for (int j = 0; j < kCols; ++j) {
      const Vec::Reg x = load_lanes<Partial>(in[r] + j * in_stride, tail);
      // Column j is tap k = j - t * Stride of pixel t; the pixels in turn, taps rising.
#pragma GCC unroll 16
      for (int t = Tile - 1; t >= 0; --t) {
        const int k = j - t * Stride;
        if (k == 0) acc[t] = Vec::fma(x, w0, acc[t]);
        if (k == 1) acc[t] = Vec::fma(x, w1, acc[t]);
        if (k == 2) acc[t] = Vec::fma(x, w2, acc[t]);
      }
    }
  }
  for (int t = 0; t < Tile; ++t)
    store_lanes<Partial>(out + t * out_stride, activate_lanes(acc[t], activation), tail);
}

template <int Rows, bool Partial>
MOBILENET_ALWAYS_INLINE
MOBILENET_DW_TARGET inline void load_weights(const RowRun& run, Index c, Vec::Tail tail,
                                             Vec::Reg (&w)[Rows][3], Vec::Reg& bias) {
  for (int r = 0; r < Rows; ++r)
    for (int k = 0; k < 3; ++k) w[r][k] = load_lanes<Partial>(run.taps.taps[r] + k * run.channels + c, tail);
  bias = load_lanes<Partial>(run.bias + c, tail);
}

// Tile pixels from p on, channels [c_begin, c_end): channel blocks inside, so memory is read
// as contiguous runs; the weights come from L1.
template <int Rows, int Stride, int Tile>
MOBILENET_DW_TARGET inline void interior_pixels(const RowRun& run, Index p, Index c_begin,
                                                Index c_end) {
  const Index is = run.in_stride, os = run.out_stride;
  if constexpr (!Vec::kWeightsInRegisters) {
    const float* in[Rows];
    const float* w[Rows];
    auto point = [&](Index c) MOBILENET_ALWAYS_INLINE {
      for (int r = 0; r < Rows; ++r) {
        in[r] = run.taps.in[r] + p * Stride * is + c, w[r] = run.taps.taps[r] + c;
        if (Stride == 2) MOBILENET_HIDE_VALUE(in[r]);  // see the note in the loop below
      }
    };
    Index c = c_begin;
    for (; c + Vec::kWidth <= c_end; c += Vec::kWidth) {
      point(c);
      interior_tile_row_weights<Rows, Stride, Tile, false>(in, w, run.channels, Vec::load(run.bias + c),
                                                           run.out + p * os + c, is, os, Vec::tail(Vec::kWidth),
                                                           run.activation);
    }
    if (c < c_end) {
      const Vec::Tail tail = Vec::tail(c_end - c);
      point(c);
      interior_tile_row_weights<Rows, Stride, Tile, true>(in, w, run.channels, Vec::load(run.bias + c, tail),
                                                          run.out + p * os + c, is, os, tail, run.activation);
    }
    return;
  }
  Vec::Reg w[Rows][3], bias;
  const float* in[Rows];
  Index c = c_begin;
  for (; c + Vec::kWidth <= c_end; c += Vec::kWidth) {
    load_weights<Rows, false>(run, c, Vec::tail(Vec::kWidth), w, bias);
    for (int r = 0; r < Rows; ++r) {
      in[r] = run.taps.in[r] + p * Stride * is + c;
      // Hidden, the row pointers are all the compiler keeps across this loop; at stride 2 it
      // would otherwise keep each of the tile's 3 x 13 input addresses as a pointer of its own
      // and spill them (stride 1 does not need it).
      if (Stride == 2) MOBILENET_HIDE_VALUE(in[r]);
    }
    interior_tile<Rows, Stride, Tile, false>(in, w, bias, run.out + p * os + c, is, os,
                                             Vec::tail(Vec::kWidth), run.activation);
  }
  if (c < c_end) {
    const Vec::Tail tail = Vec::tail(c_end - c);
    load_weights<Rows, true>(run, c, tail, w, bias);
    for (int r = 0; r < Rows; ++r) in[r] = run.taps.in[r] + p * Stride * is + c;
    interior_tile<Rows, Stride, Tile, true>(in, w, bias, run.out + p * os + c, is, os, tail,
                                            run.activation);
  }
}

// Pixels [p, count) in tiles of Tile, the rest in halving tiles.
template <int Rows, int Stride, int Tile = Stride == 1 ? Vec::kTileStride1 : Vec::kTileStride2>
MOBILENET_DW_TARGET void interior_run(const RowRun& run, Index p = 0) {
  for (; p + Tile <= run.count; p += Tile) interior_pixels<Rows, Stride, Tile>(run, p, 0, run.channels);
  if constexpr (Tile > 1) interior_run<Rows, Stride, Tile / 2>(run, p);
}

// A block of Out neighbouring output rows at stride 1, all with three input rows: its Out + 2
// input rows, the weights and the pixels of its interior.
struct BlockRun {
  const float* in[Vec::kBlockRows + 2];  // input rows at the first pixel's leftmost tap column
  float* out[Vec::kBlockRows];           // output rows at the first pixel
  const float* weights;                  // 3 x 3 x channels
  const float* bias;
  Index count;                           // pixels a row
  Index channels, in_stride, out_stride;
  Activation activation;
};

// Out rows x Tile pixels of one channel block. Input row r feeds output row o through weight
// row r - o; each accumulator sums its taps in the order interior_tile does (weight row, then
// column), so the results are the same bits.
template <int Out, int Tile, bool Partial>
MOBILENET_ALWAYS_INLINE
MOBILENET_DW_TARGET inline void block_tile(const float* const* in, const Vec::Reg (&w)[3][3], Vec::Reg bias,
                                           float* const* out, Index in_stride, Index out_stride, Vec::Tail tail,
                                           Activation activation) {
  Vec::Reg acc[Out][Tile];
  for (int o = 0; o < Out; ++o)
    for (int t = 0; t < Tile; ++t) acc[o][t] = bias;
  for (int r = 0; r < Out + 2; ++r) {
    Vec::Reg x[Tile + 2];
    for (int j = 0; j < Tile + 2; ++j) x[j] = load_lanes<Partial>(in[r] + j * in_stride, tail);
    for (int o = 0; o < Out; ++o) {
      const int kr = r - o;
      if (kr < 0 || kr > 2) continue;
      for (int t = 0; t < Tile; ++t)
        for (int k = 0; k < 3; ++k) acc[o][t] = Vec::fma(x[t + k], w[kr][k], acc[o][t]);
    }
  }
  for (int o = 0; o < Out; ++o)
    for (int t = 0; t < Tile; ++t)
      store_lanes<Partial>(out[o] + t * out_stride, activate_lanes(acc[o][t], activation), tail);
}

// Tile pixels from p on of every row of the block, channel block by channel block.
template <int Tile>
MOBILENET_DW_TARGET inline void block_pixels(const BlockRun& run, Index p) {
  constexpr int Out = Vec::kBlockRows;
  const Index is = run.in_stride, os = run.out_stride, ch = run.channels;
  Vec::Reg w[3][3], bias;
  const float* in[Out + 2];
  float* out[Out];
  auto point = [&](Index c) MOBILENET_ALWAYS_INLINE {
    for (int r = 0; r < Out + 2; ++r) in[r] = run.in[r] + p * is + c;
    for (int o = 0; o < Out; ++o) out[o] = run.out[o] + p * os + c;
  };
  Index c = 0;
  for (; c + Vec::kWidth <= ch; c += Vec::kWidth) {
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 3; ++k) w[r][k] = Vec::load(run.weights + (3 * r + k) * ch + c);
    bias = Vec::load(run.bias + c);
    point(c);
    block_tile<Out, Tile, false>(in, w, bias, out, is, os, Vec::tail(Vec::kWidth), run.activation);
  }
  if (c < ch) {
    const Vec::Tail tail = Vec::tail(ch - c);
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 3; ++k) w[r][k] = Vec::load(run.weights + (3 * r + k) * ch + c, tail);
    bias = Vec::load(run.bias + c, tail);
    point(c);
    block_tile<Out, Tile, true>(in, w, bias, out, is, os, tail, run.activation);
  }
}

// Pixels [p, count) of the block in tiles of Tile, the rest in halving tiles.
template <int Tile = Vec::kBlockPixels>
MOBILENET_DW_TARGET void block_run(const BlockRun& run, Index p = 0) {
  for (; p + Tile <= run.count; p += Tile) block_pixels<Tile>(run, p);
  if constexpr (Tile > 1) block_run<Tile / 2>(run, p);
}

// One border pixel (or any pixel at an unusual stride): `cols` tap columns, weights read
// from memory because a border pixel cannot amortise loading them into registers.
template <bool Partial>
MOBILENET_DW_TARGET inline void border_block(const RowRun& run, Index cols, Index c, Vec::Tail tail) {
  const Index ch = run.channels;
  Vec::Reg acc = load_lanes<Partial>(run.bias + c, tail);
  for (int r = 0; r < run.taps.count; ++r)
    for (Index k = 0; k < cols; ++k)
      acc = Vec::fma(load_lanes<Partial>(run.taps.in[r] + k * run.in_stride + c, tail),
                     load_lanes<Partial>(run.taps.taps[r] + k * ch + c, tail), acc);
  store_lanes<Partial>(run.out + c, activate_lanes(acc, run.activation), tail);
}

// Blocks neighbouring channel blocks from c on of a border pixel with Rows input rows and Cols
// tap columns: the same sums as border_block, unrolled, with each block's chain of FMAs
// independent of the others' so that they overlap.
template <int Rows, int Cols, int Blocks>
MOBILENET_DW_TARGET inline void border_blocks(const RowRun& run, Index c) {
  const Index ch = run.channels;
  Vec::Reg acc[Blocks];
  for (int b = 0; b < Blocks; ++b) acc[b] = Vec::load(run.bias + c + b * Vec::kWidth);
  for (int r = 0; r < Rows; ++r)
    for (int k = 0; k < Cols; ++k)
      for (int b = 0; b < Blocks; ++b) {
        const Index at = c + b * Vec::kWidth;
        acc[b] = Vec::fma(Vec::load(run.taps.in[r] + k * run.in_stride + at), Vec::load(run.taps.taps[r] + k * ch + at),
                          acc[b]);
      }
  for (int b = 0; b < Blocks; ++b) Vec::store(run.out + c + b * Vec::kWidth, activate_lanes(acc[b], run.activation));
}

// A border pixel whose input rows and tap columns are known at compile time.
template <int Rows, int Cols>
MOBILENET_DW_TARGET inline void border_pixel_unrolled(const RowRun& run) {
  constexpr int kBlocks = 4;
  Index c = 0;
  for (; c + kBlocks * Vec::kWidth <= run.channels; c += kBlocks * Vec::kWidth) border_blocks<Rows, Cols, kBlocks>(run, c);
  for (; c + Vec::kWidth <= run.channels; c += Vec::kWidth) border_blocks<Rows, Cols, 1>(run, c);
  if (c < run.channels) border_block<true>(run, Cols, c, Vec::tail(run.channels - c));
}

MOBILENET_DW_TARGET inline void border_pixel(const RowRun& run, Index cols) {
  // The left and right edges of padding 1 (two tap columns), inside and on the top or bottom row.
  if (cols == 2 && run.taps.count == 3) return border_pixel_unrolled<3, 2>(run);
  if (cols == 2 && run.taps.count == 2) return border_pixel_unrolled<2, 2>(run);
  Index c = 0;
  for (; c + Vec::kWidth <= run.channels; c += Vec::kWidth)
    border_block<false>(run, cols, c, Vec::tail(Vec::kWidth));
  if (c < run.channels) border_block<true>(run, cols, c, Vec::tail(run.channels - c));
}

template <int Stride>
MOBILENET_DW_TARGET inline void interior_rows(const RowRun& run) {
  switch (run.taps.count) {
    case 3: interior_run<3, Stride>(run); break;
    case 2: interior_run<2, Stride>(run); break;
    default: interior_run<1, Stride>(run); break;
  }
}

// Whether output rows [oy, oy + kBlockRows) of a stride-1 pass are all to be computed and
// all read three input rows.
inline bool block_fits(const Depthwise3x3Params& p, Index oy) {
  const Index iy = oy - p.pad_top;  // the first row's first input row
  return oy + Vec::kBlockRows <= p.row_end && iy >= 0 && iy + Vec::kBlockRows + 2 <= p.in_h;
}

// The interior columns [lo, hi) of the block of rows from oy on (block_fits), whose first
// output row starts at `out`.
inline BlockRun block_at(const Depthwise3x3Params& p, Index oy, Index lo, Index hi, float* out, Index in_stride,
                         Index out_stride) {
  BlockRun run{};
  const Index first_input_row = oy - p.pad_top, first = (lo - p.pad_left) * in_stride;
  for (int r = 0; r < Vec::kBlockRows + 2; ++r) run.in[r] = p.input + (first_input_row + r) * p.in_w * in_stride + first;
  for (int o = 0; o < Vec::kBlockRows; ++o) run.out[o] = out + (o * p.out_w + lo) * out_stride;
  run.weights = p.weights, run.bias = p.bias, run.count = hi - lo;
  run.channels = p.channels, run.in_stride = in_stride, run.out_stride = out_stride, run.activation = p.activation;
  return run;
}

// Output rows [row_begin, row_end) of p; see Depthwise3x3Params.
MOBILENET_DW_TARGET inline void run_depthwise3x3(const Depthwise3x3Params& p) {
  assert(detail::valid_params(p));
  const Index ch = p.channels, s = p.stride;
  const Index in_stride = detail::in_stride(p), out_stride = detail::out_stride(p);
  // The tiled interior needs a stride it was compiled for and at least one input row.
  const bool tiled = s == 1 || s == 2;
  const detail::ColumnSplit interior = tiled ? detail::interior_columns(p) : detail::ColumnSplit{};
  const bool has_interior = interior.hi > interior.lo;
  auto out_row = [&](Index oy) { return p.output + (oy - p.row_begin) * p.out_w * out_stride; };
  // Output row oy: its border pixels, and its interior unless `borders_only`.
  auto one_row = [&](Index oy, bool borders_only) {
    const detail::DepthwiseTaps rows = detail::row_taps(p, oy);
    auto pixel_run = [&](Index ox, Index count, Index first_tap) {
      RowRun run{rows, p.bias, out_row(oy) + ox * out_stride, count, ch, in_stride, out_stride, p.activation};
      const Index offset = (ox * s - p.pad_left + first_tap) * in_stride;
      for (int r = 0; r < rows.count; ++r) {
        run.taps.in[r] += offset;
        run.taps.taps[r] += first_tap * ch;
      }
      return run;
    };
    const bool row_tiled = rows.count > 0 && has_interior;
    for (Index ox = 0; ox < p.out_w; ++ox) {
      if (row_tiled && ox == interior.lo) {
        if (!borders_only) {
          const RowRun run = pixel_run(ox, interior.hi - interior.lo, 0);
          if (s == 1) interior_rows<1>(run);
          else interior_rows<2>(run);
        }
        ox = interior.hi - 1;
        continue;
      }
      const detail::TapRange cols = detail::tap_range(ox * s - p.pad_left, p.in_w);
      border_pixel(pixel_run(ox, 1, cols.lo), std::max<Index>(0, cols.hi - cols.lo));
    }
  };
  for (Index oy = p.row_begin; oy < p.row_end;) {
    if constexpr (Vec::kBlockRows > 1) {
      if (s == 1 && has_interior && block_fits(p, oy)) {
        block_run(block_at(p, oy, interior.lo, interior.hi, out_row(oy), in_stride, out_stride));
        for (Index o = 0; o < Vec::kBlockRows; ++o) one_row(oy + o, true);
        oy += Vec::kBlockRows;
        continue;
      }
    }
    one_row(oy, false);
    ++oy;
  }
}
