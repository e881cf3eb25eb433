#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a tiny PyTorch MobileNetV1 state dict in the layout tools/torch_to_safetensors.py
accepts (alpha 0.25, 32 x 32 input, 5 classes, ReLU, padding=1, random weights and BatchNorm
statistics) and PyTorch's own float64 output for one random input, into a safetensors case file.

    /usr/bin/python3 tests/converters/make_tiny_torch.py OUT_DIR   # tiny.pth, tiny_torch_case.safetensors

Exit code 77 (a skipped test for ctest) when PyTorch is missing."""

import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as error:
    print("skipped: %s (Debian: python3-torch python3-numpy)" % error)
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from mobilenet_weights import BLOCK_CHANNELS, write_safetensors  # noqa: E402

ALPHA, RESOLUTION, CLASSES = 0.25, 32, 5
STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]


def conv_bn(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def conv_dw(cin, cout, stride):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(),
        nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class MobileNetV1(nn.Module):
    def __init__(self):
        super().__init__()
        stages = [conv_bn(3, int(32 * ALPHA), 2)]
        cin = int(32 * ALPHA)
        for base, stride in zip(BLOCK_CHANNELS, STRIDES):
            stages.append(conv_dw(cin, int(base * ALPHA), stride))
            cin = int(base * ALPHA)
        self.model = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, CLASSES)

    def forward(self, x):
        x = self.model(x).mean(dim=(2, 3))
        return torch.softmax(self.fc(x), dim=1)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1704)
    model = MobileNetV1()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out_dir, "tiny.pth"))
    x = torch.rand(1, 3, RESOLUTION, RESOLUTION, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        probabilities = model.double()(x).numpy()
    write_safetensors(os.path.join(out_dir, "tiny_torch_case.safetensors"),
                      [("input", x.permute(0, 2, 3, 1).numpy()),
                       ("probabilities", probabilities.reshape(1, 1, 1, CLASSES))],
                      {"alpha": ALPHA, "resolution": RESOLUTION, "num_classes": CLASSES})
    print("wrote tiny.pth and tiny_torch_case.safetensors to %s; probabilities %s"
          % (out_dir, np.array2string(probabilities[0], precision=4)))


if __name__ == "__main__":
    main()
