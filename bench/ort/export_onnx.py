# SPDX-License-Identifier: MIT
"""MobileNetV1 to ONNX for ONNX Runtime's side of scripts/bench-ort.sh.

    /usr/bin/python3 bench/ort/export_onnx.py ALPHA RESOLUTION OUT.onnx

TF-slim's network (Table 1 of the paper, channels max(8, int(c * alpha))), ReLU6, a 1x1
convolution head to 1001 classes and softmax, with BatchNorm already folded (ONNX Runtime
would fold it anyway) and random weights: latency does not depend on the values. Padding is
symmetric (1 pixel) where TF-slim pads SAME; the multiply-adds are the same. Needs Debian's
python3-torch (torch.onnx.export writes the file; the onnx package is not needed).
"""

import sys

import torch
import torch.nn as nn

SPEC = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512),
        (1, 512), (1, 512), (2, 1024), (1, 1024)]


class MobileNetV1(nn.Module):
    def __init__(self, alpha):
        super().__init__()
        ch = lambda c: max(8, int(c * alpha))
        c = ch(32)
        layers = [nn.Conv2d(3, c, 3, 2, 1), nn.ReLU6()]
        for stride, out in SPEC:
            layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c), nn.ReLU6(), nn.Conv2d(c, ch(out), 1), nn.ReLU6()]
            c = ch(out)
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, 1001, 1)

    def forward(self, x):
        x = torch.mean(self.features(x), dim=(2, 3), keepdim=True)
        return torch.softmax(self.head(x).flatten(1), dim=1)


def main():
    alpha, resolution, out = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(0)
    model = MobileNetV1(alpha).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5)  # keeps activations in ReLU6's range through 27 layers
    x = torch.randn(1, 3, resolution, resolution)
    torch.onnx.export(model, x, out, input_names=["input"], output_names=["probabilities"],
                      dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}}, opset_version=13)


if __name__ == "__main__":
    main()
