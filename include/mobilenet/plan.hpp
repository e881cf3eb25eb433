// SPDX-License-Identifier: MIT
#pragma once
// The fast path: Plan, PackedModel, Session and PlanOptions (model/plan.hpp). Not part of
// mobilenet.hpp, so a file that uses only the layers and the model does not compile it.

#include "mobilenet/mobilenet.hpp"
#include "mobilenet/model/plan.hpp"
