// SPDX-License-Identifier: MIT
#pragma once
// 8-bit 3x3 depthwise kernel for this ISA: not written yet (the dispatcher runs the generic one).
