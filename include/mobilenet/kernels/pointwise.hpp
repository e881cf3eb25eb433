// SPDX-License-Identifier: MIT
#pragma once
// 1x1 convolution = matrix product over the pixels: out[p, :] = in[p, :] * W + bias.
// `pointwise_eigen` runs it through Eigen's GEMM, `pointwise_eigen_on_stack` too without heap
// allocations (the layers' form); `pointwise_reference` is their plain twin.

#include <Eigen/Core>
#include <algorithm>
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

// pointwise_eigen's product (out[p, :] = in[p, :] * W + bias, with in rows x Cin and
// W Cin x Cout row-major), cut into blocks that Eigen's GEMM packs on the stack: above
// EIGEN_STACK_ALLOCATION_LIMIT bytes it takes its packing buffers from the heap, and a
// layer's forward pass promises to allocate nothing. Eigen packs at most depth x columns of
// each operand, so every block keeps that under the limit. Bias first, then the blocks of Cin
// added in order: the sums may differ from pointwise_eigen's in the last bits.
template <typename T>
void pointwise_eigen_on_stack(const T* in, Index rows, Index cin, const T* weights, const T* bias, Index cout,
                              T* out) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Strided = Eigen::OuterStride<>;
  constexpr Index kStackValues = Index(EIGEN_STACK_ALLOCATION_LIMIT) / Index(sizeof(T));
  const Index depth = std::min<Index>(cin, 256);
  const Index block = std::max<Index>(1, kStackValues / depth);
  for (Index r0 = 0; r0 < rows; r0 += block) {
    const Index nr = std::min(block, rows - r0);
    for (Index c0 = 0; c0 < cout; c0 += block) {
      // Column-major views: y is Cout x rows, W^T is Cout x Cin, x is Cin x rows.
      const Index nc = std::min(block, cout - c0);
      Eigen::Map<Matrix, 0, Strided> y(out + r0 * cout + c0, nc, nr, Strided(cout));
      if (bias)
        y.colwise() = Eigen::Map<const Vector>(bias + c0, nc);
      else
        y.setZero();
      for (Index k0 = 0; k0 < cin; k0 += depth) {
        const Index nk = std::min(depth, cin - k0);
        Eigen::Map<const Matrix, 0, Strided> wt(weights + k0 * cout + c0, nc, nk, Strided(cout));
        Eigen::Map<const Matrix, 0, Strided> x(in + r0 * cin + k0, nk, nr, Strided(cin));
        y.noalias() += wt * x;
      }
    }
  }
}

}  // namespace kernels
}  // namespace mobilenet
