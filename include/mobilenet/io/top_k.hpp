// SPDX-License-Identifier: MIT
#pragma once
// The k most probable classes of one image's output, without the model: a small header an app
// can use on any vector of scores (Plan::run's output, a softmax of its own).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <numeric>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace io {

struct ClassScore {
  Index index = 0;          // the model's output (class) number
  float probability = 0;    // the score at that output, as given
};

// in: `count` scores of one image (scores[i] is class i)
// out: the min(k, count) highest, highest first; equal scores in class order (lower index
// first), so the answer does not depend on the sort.
// Throws Error when a score is NaN or infinite (a broken model has no answer, and NaN cannot
// be ordered), ConfigError for k < 0 or count < 0.
inline std::vector<ClassScore> top_k(const float* scores, Index count, Index k) {
  if (k < 0 || count < 0)
    throw ConfigError(detail::concat("top_k: k and count must be >= 0, got k = ", k, ", count = ", count));
  for (Index i = 0; i < count; ++i)
    if (!std::isfinite(scores[i]))
      throw Error(detail::concat("top_k: score ", i, " of ", count, " is not finite (", scores[i],
                                 "): the model's output is broken, so there is no answer"));
  std::vector<Index> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), Index(0));
  const auto kept = order.begin() + static_cast<std::ptrdiff_t>(std::min(k, count));
  std::partial_sort(order.begin(), kept, order.end(), [&](Index a, Index b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  std::vector<ClassScore> top;
  for (auto it = order.begin(); it != kept; ++it) top.push_back({*it, scores[*it]});
  return top;
}

// The same over a contiguous container of floats of one image: std::vector<float>,
// std::array, or a Tensor<float> of batch 1 (for a batch, pass each image's
// tensor.data() + i * classes).
template <typename Scores>
std::vector<ClassScore> top_k(const Scores& scores, Index k) {
  return top_k(std::data(scores), static_cast<Index>(std::size(scores)), k);
}

}  // namespace io
}  // namespace mobilenet
