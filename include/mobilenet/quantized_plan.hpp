// SPDX-License-Identifier: MIT
#pragma once
// The 8-bit fast path: QuantizedPlan (model/quantized_plan.hpp) over a QuantizedMobileNetV1,
// and the loader of quantized .tflite files. Not part of mobilenet.hpp, like plan.hpp.

#include "mobilenet/io/tflite.hpp"
#include "mobilenet/model/quantized_plan.hpp"
