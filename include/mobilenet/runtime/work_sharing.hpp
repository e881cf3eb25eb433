// SPDX-License-Identifier: MIT
#pragma once
// How the threads of one inference share a step's work (docs/design.md, "Threads and work
// sharing"): a lock-free counter of items handed out in shrinking chunks, the rule for which
// end of an image a thread starts from, and the two ways the plan cuts a step: bands of
// output rows, and pairs of GEMM weight panels.

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>

namespace mobilenet {
namespace runtime {

// Items [0, total) of one step shared out while the threads run, in guided chunks: a thread
// takes (items left) / (2 * threads) at a time, at least 1 and at most max_chunk (a lone
// thread takes max_chunk: it has no one to finish with, and smaller bands would cost it the
// reuse of a GEMM's weights). Chunks start
// large (few atomic operations) and end small, so the threads finish within a small chunk of
// each other even when the OS or the hypervisor holds one of them up for a while; a static
// split would make the other wait at the barrier for all of it. Threads may take from either
// end (see takes_from_back); both ends share one atomic
// word, so every item still goes to exactly one thread.
class GuidedCounter {
 public:
  void reset() { taken_.store(0, std::memory_order_relaxed); }
  // [begin, end) is the caller's next chunk; false when every item is taken. Items are
  // independent; the barrier after the step orders their results. A caller that takes
  // `from_back` gets the last items left instead of the first.
  bool take(std::int64_t total, std::int64_t threads, std::int64_t max_chunk, std::int64_t& begin,
            std::int64_t& end, bool from_back = false) {
    assert(total >= 0 && total <= 0xFFFFFFFF);  // each end's count is 32 bits
    std::uint64_t current = taken_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t front = static_cast<std::int64_t>(current & 0xFFFFFFFFu);
      const std::int64_t back = static_cast<std::int64_t>(current >> 32);
      const std::int64_t left = total - front - back;
      if (left <= 0) return false;
      const std::int64_t share = threads == 1 ? left : left / (2 * threads);
      const std::int64_t chunk = std::max<std::int64_t>(1, std::min(max_chunk, share));
      const std::uint64_t next = from_back ? current + (static_cast<std::uint64_t>(chunk) << 32)
                                           : current + static_cast<std::uint64_t>(chunk);
      if (taken_.compare_exchange_weak(current, next, std::memory_order_relaxed)) {
        begin = from_back ? total - back - chunk : front;
        end = begin + chunk;
        return true;
      }
    }
  }

 private:
  // Items taken from the front (low 32 bits) and from the back (high 32 bits); one counter per
  // cache line.
  alignas(64) std::atomic<std::uint64_t> taken_{0};
};

// Whether `thread` of `threads` takes its chunks of step `step_index` from the back (the
// bottom of the image up).
// - Several threads: odd threads do, in every step, so each thread works on the same part of
//   the image from step to step and reads mostly rows it wrote itself, not rows in another
//   core's cache.
// - One thread: every other step does, so each step starts on the rows the step before wrote
//   last, which are still in L2, instead of on its oldest ones.
inline bool takes_from_back(int threads, std::size_t step_index, int thread) {
  return threads == 1 ? step_index % 2 == 1 : thread % 2 == 1;
}

// Calls band(image, first_row, end_row) for bands of at most `band_rows` rows covering rows
// [begin, end) of a batch whose images have `image_rows` rows each, in order; a band never
// crosses from one image into the next.
template <typename Band>
void for_each_band(std::int64_t begin, std::int64_t end, std::int64_t image_rows, std::int64_t band_rows,
                   Band&& band) {
  assert(image_rows > 0 && band_rows > 0);
  for (std::int64_t r = begin; r < end;) {
    const std::int64_t image = r / image_rows, row = r % image_rows;
    const std::int64_t rows = std::min({band_rows, image_rows - row, end - r});
    band(image, row, row + rows);
    r += rows;
  }
}

// The bands of `images` images of `image_rows` rows each that this thread takes from `work`
// (at most band_rows rows a chunk, from the back when `from_back`): band(image, first_row,
// end_row), with image counted from 0. Every row goes to exactly one of the threads sharing
// `work`.
template <typename Band>
void for_each_band_taken(GuidedCounter& work, std::int64_t images, std::int64_t image_rows, std::int64_t band_rows,
                         int threads, bool from_back, Band&& band) {
  std::int64_t begin = 0, end = 0;
  while (work.take(images * image_rows, threads, band_rows, begin, end, from_back))
    for_each_band(begin, end, image_rows, band_rows, band);
}

// The panels [first, end) of a GEMM with `panels` weight panels that this thread takes from
// `work`: whole pairs, since the widest micro-kernel tile covers two panels (the last chunk
// may end on an odd panel). Each thread then reads only its own panels' weights.
template <typename Chunk>
void for_each_panel_pair_chunk(GuidedCounter& work, std::int64_t panels, int threads, Chunk&& chunk) {
  const std::int64_t pairs = (panels + 1) / 2;
  std::int64_t begin = 0, end = 0;
  while (work.take(pairs, threads, pairs, begin, end)) chunk(2 * begin, std::min(2 * end, panels));
}

}  // namespace runtime
}  // namespace mobilenet
