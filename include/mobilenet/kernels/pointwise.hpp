// SPDX-License-Identifier: MIT
#pragma once
// 1x1 convolution = matrix product over the pixels: out[p, :] = in[p, :] * W + bias.
// `pointwise_eigen` runs it through Eigen's GEMM; `pointwise_reference` is its plain twin.

#include <Eigen/Core>
#include <cassert>

#include "mobilenet/core/shape.hpp"

namespace mobilenet {
namespace kernels {

// in:      rows x Cin   (an NHWC tensor with rows = N*H*W)
// weights: Cin x Cout   (row-major)
// bias:    Cout, or nullptr
// out:     rows x Cout
template <typename T>
void pointwise_reference(const T* in, Index rows, Index cin, const T* weights, const T* bias,
                         Index cout, T* out) {
  assert(in && weights && out && rows >= 0 && cin > 0 && cout > 0);
  for (Index r = 0; r < rows; ++r) {
    T* acc = out + r * cout;
    for (Index co = 0; co < cout; ++co) acc[co] = bias ? bias[co] : T(0);
    for (Index ci = 0; ci < cin; ++ci) {
      const T x = in[r * cin + ci];
      const T* w = weights + ci * cout;
      for (Index co = 0; co < cout; ++co) acc[co] += x * w[co];
    }
  }
}

// Same contract as pointwise_reference. Seen column-major, the NHWC input is a Cin x rows
// matrix and the row-major Cin x Cout weights are W^T (Cout x Cin), so out = W^T * in with
// no copies.
template <typename T>
void pointwise_eigen(const T* in, Index rows, Index cin, const T* weights, const T* bias, Index cout,
                     T* out) {
  assert(in && weights && out && rows >= 0 && cin > 0 && cout > 0);
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  Eigen::Map<const Matrix> x(in, cin, rows);
  Eigen::Map<const Matrix> wt(weights, cout, cin);
  Eigen::Map<Matrix> y(out, cout, rows);
  y.noalias() = wt * x;
  if (bias) y.colwise() += Eigen::Map<const Vector>(bias, cout);
}

}  // namespace kernels
}  // namespace mobilenet
