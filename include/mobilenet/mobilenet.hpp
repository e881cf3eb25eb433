// SPDX-License-Identifier: MIT
#pragma once
// mobilenet: header-only MobileNetV1 inference (Howard et al., 2017). Include this one header.
//
// Image decoding and other heavy parts live in their own headers, so an app that does not need
// them does not compile them: mobilenet/plan.hpp for the fast path (Plan, PackedModel,
// Session), mobilenet/io/ for files and images, mobilenet/classifier.hpp for the facade.

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/padding.hpp"
#include "mobilenet/core/shape.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/layers/activation.hpp"
#include "mobilenet/layers/avg_pool.hpp"
#include "mobilenet/layers/batch_norm.hpp"
#include "mobilenet/layers/conv2d.hpp"
#include "mobilenet/layers/dense.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/pointwise.hpp"
#include "mobilenet/model/dsconv.hpp"
#include "mobilenet/model/fold.hpp"
#include "mobilenet/model/mobilenet_v1.hpp"
#include "mobilenet/model/summary.hpp"
#include "mobilenet/version.hpp"
