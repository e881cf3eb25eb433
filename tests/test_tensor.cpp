// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "error_matchers.hpp"
#include "mobilenet/core/tensor.hpp"

namespace mobilenet {
namespace {

TEST(Tensor, NhwcIndexingPutsChannelsInnermost) {
  Tensor<float> t(Shape(2, 3, 4, 5));
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  EXPECT_EQ(t(0, 0, 0, 1), 1.0f);
  EXPECT_EQ(t(0, 0, 1, 0), 5.0f);
  EXPECT_EQ(t(0, 1, 0, 0), 20.0f);
  EXPECT_EQ(t(1, 0, 0, 0), 60.0f);
  EXPECT_EQ(t(1, 2, 3, 4), 119.0f);
}

TEST(Tensor, StorageIsAlignedForSimd) {
  Tensor<float> t(Shape(1, 3, 3, 7));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 16, 0u);
}

TEST(Tensor, BatchViewSharesStorage) {
  Tensor<double> t(Shape(3, 2, 2, 2), 0.0);
  TensorView<double> second = t.view().batch(1);
  EXPECT_EQ(second.shape(), Shape(1, 2, 2, 2));
  second(0, 1, 1, 1) = 42.0;
  EXPECT_EQ(t(1, 1, 1, 1), 42.0);
  EXPECT_EQ(t.view().batches(1, 2).data(), t.data() + 8);
}

TEST(Tensor, MatrixViewIsChannelsByPixels) {
  Tensor<float> t(Shape(1, 2, 3, 4));
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  const auto m = t.view().matrix();
  EXPECT_EQ(m.rows(), 4);
  EXPECT_EQ(m.cols(), 6);
  EXPECT_EQ(m(2, 5), t(0, 1, 2, 2));
  TensorView<const float> read_only = t.view();  // mutable view converts to const
  EXPECT_EQ(read_only.vector().sum(), t.storage().sum());
}

TEST(Tensor, ConstructionChecksShapeAndValueCount) {
  EXPECT_THROW(Tensor<float>(Shape(1, 0, 2, 2)), ShapeError);
  EXPECT_THROW(Tensor<float>(Shape(-1, 2, 2, 2)), ShapeError);
  EXPECT_THROW_MESSAGE(Tensor<float>(Shape(1, 1, 2, 2), std::vector<float>(3)), ShapeError,
                       {"[1, 1, 2, 2] needs 4 values, got 3"});
  EXPECT_THROW(Tensor<float>(Shape(1 << 30, 1 << 30, 1 << 30, 4)), ShapeError);
}

TEST(Tensor, CastConvertsElementType) {
  Tensor<double> d(Shape(1, 1, 1, 3), std::vector<double>{0.5, -1.25, 3.0});
  const Tensor<float> f = d.cast<float>();
  EXPECT_EQ(f.shape(), d.shape());
  EXPECT_EQ(f.to_vector(), (std::vector<float>{0.5f, -1.25f, 3.0f}));
}

TEST(Tensor, ResizeKeepsStorageWhenCountIsUnchanged) {
  Tensor<float> t(Shape(1, 4, 4, 2));
  const float* before = t.data();
  t.resize(Shape(2, 2, 4, 2));
  EXPECT_EQ(t.data(), before);
  EXPECT_EQ(t.shape(), Shape(2, 2, 4, 2));
}

}  // namespace
}  // namespace mobilenet
