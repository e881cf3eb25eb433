#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Converts a PyTorch MobileNetV1 state dict into the library's safetensors weights format.

    /usr/bin/python3 tools/torch_to_safetensors.py model.pth out.safetensors \\
        [--activation relu|relu6] [--bn-epsilon 1e-5] [--resolution 224]

The accepted layout is the common PyTorch MobileNetV1 written as one nn.Sequential `model` of
14 stages and a Linear `fc` (as in the widely copied pytorch-mobilenet code):

    model.0   = Sequential(Conv2d(3, 32a, 3, stride 2, padding 1), BatchNorm2d, ReLU)
    model.i   = Sequential(Conv2d(Cin, Cin, 3, stride s, padding 1, groups=Cin), BatchNorm2d, ReLU,
                           Conv2d(Cin, Cout, 1), BatchNorm2d, ReLU)           for i = 1..13
    fc        = Linear(1024a, K)          after a global average pool

so the keys are model.0.0.weight, model.0.1.{weight,bias,running_mean,running_var},
model.<i>.0.weight (depthwise), model.<i>.1.* (its BatchNorm), model.<i>.3.weight (pointwise),
model.<i>.4.* (its BatchNorm), fc.weight and fc.bias. Convolution biases (model.0.0.bias,
model.<i>.0.bias, model.<i>.3.bias) are taken when every convolution has one. A "module."
prefix (DataParallel) is dropped, and a checkpoint dict holding "state_dict" or "model_state"
is unwrapped. num_batches_tracked is ignored.

What a state dict does not record is written as metadata for the C++ side: padding
"symmetric:1" (PyTorch's padding=1), the activation (--activation, default relu), BatchNorm
epsilon (--bn-epsilon, PyTorch's default 1e-5), the input size (--resolution, default 224)
and the preprocessing ("torch": mean/std).

Needs PyTorch and NumPy (Debian: python3-torch, python3-numpy)."""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilenet_weights import (BLOCKS, BN_PARAMETERS, STEM_CHANNELS, ConversionError,  # noqa: E402
                               check_shape, expected_shapes, write_safetensors)

TORCH_BN = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
            "moving_variance": "running_var"}


def load_state_dict(source):
    import torch  # imported here so that --help works without it

    try:
        loaded = torch.load(source, map_location="cpu")
    except Exception as error:  # torch raises many types for a bad file
        raise ConversionError("%s: cannot read as a PyTorch file (%s)" % (source, error))
    if isinstance(loaded, torch.nn.Module):
        loaded = loaded.state_dict()
    for key in ("state_dict", "model_state"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict):
        raise ConversionError("%s: holds a %s, expected a state dict" % (source, type(loaded).__name__))
    state = {}
    for name, value in loaded.items():
        if not hasattr(value, "detach"):
            continue
        name = name[len("module."):] if name.startswith("module.") else name
        state[name] = value.detach().to(torch.float64).numpy()
    return state


def convert(source, destination, activation, epsilon, resolution):
    state = load_state_dict(source)

    def take(key):
        if key not in state:
            raise ConversionError("%s: missing '%s' (expected the model.<i>.<j> / fc layout; see --help)"
                                  % (source, key))
        return state[key]

    convs = ["model.0.0"] + ["model.%d.%d" % (i, j) for i in range(1, BLOCKS + 1) for j in (0, 3)]
    with_bias = [c + ".bias" in state for c in convs]
    if any(with_bias) and not all(with_bias):
        raise ConversionError("%s: some convolutions have a bias and some not (%s has none)"
                              % (source, convs[with_bias.index(False)]))
    conv_bias = all(with_bias)

    stem = take("model.0.0.weight")  # [Cout, Cin, 3, 3]
    blocks = [take("model.%d.3.weight" % i).shape[0] for i in range(1, BLOCKS + 1)]
    fc = take("fc.weight")  # [K, C]
    shapes = expected_shapes(stem.shape[0], blocks, fc.shape[0], in_channels=stem.shape[1])

    tensors = []
    used = set()

    def add(name, array, torch_name, expected=None):
        used.add(torch_name)
        tensors.append((name, check_shape(source, "%s (for %s)" % (torch_name, name), array,
                                          expected if expected is not None else shapes[name])))

    def add_conv(ours, key, layout):
        add(ours + ".weight", layout(take(key + ".weight")), key + ".weight")
        if conv_bias:
            bias = take(key + ".bias")
            add(ours + ".bias", bias, key + ".bias", (shapes[ours + ".weight"][-1],))

    def add_bn(ours, key):
        for p in BN_PARAMETERS:
            add("%s.%s" % (ours, p), take("%s.%s" % (key, TORCH_BN[p])), "%s.%s" % (key, TORCH_BN[p]))
        used.add(key + ".num_batches_tracked")

    add_conv("stem.conv", "model.0.0", lambda w: w.transpose(2, 3, 1, 0))  # OIHW -> HWIO
    add_bn("stem.bn", "model.0.1")
    for i in range(1, BLOCKS + 1):
        def depthwise(w, i=i):  # [C, 1, 3, 3] -> [3, 3, C]
            if w.ndim != 4 or w.shape[1] != 1:
                raise ConversionError("%s: model.%d.0.weight has shape %s, expected [C, 1, 3, 3]"
                                      % (source, i, list(w.shape)))
            return w[:, 0].transpose(1, 2, 0)

        def pointwise(w, i=i):  # [Cout, Cin, 1, 1] -> [Cin, Cout]
            if w.ndim != 4 or w.shape[2:] != (1, 1):
                raise ConversionError("%s: model.%d.3.weight has shape %s, expected [Cout, Cin, 1, 1]"
                                      % (source, i, list(w.shape)))
            return w[:, :, 0, 0].T

        add_conv("dsconv%d.depthwise" % i, "model.%d.0" % i, depthwise)
        add_bn("dsconv%d.depthwise_bn" % i, "model.%d.1" % i)
        add_conv("dsconv%d.pointwise" % i, "model.%d.3" % i, pointwise)
        add_bn("dsconv%d.pointwise_bn" % i, "model.%d.4" % i)
    add("classifier.weight", fc.T, "fc.weight")
    add("classifier.bias", take("fc.bias"), "fc.bias")
    left = sorted(set(state) - used)
    if left:
        raise ConversionError("%s: unexpected tensors %s: not a MobileNetV1 in the accepted layout"
                              % (source, ", ".join(left[:5])))

    alpha = stem.shape[0] / STEM_CHANNELS
    metadata = {"format": "mobilenet_v1", "alpha": repr(alpha), "num_classes": str(fc.shape[0]),
                "conv_bias": "true" if conv_bias else "false", "bn_epsilon": repr(epsilon),
                "activation": activation, "padding": "symmetric:1", "preprocessing": "torch",
                "head": "dense", "min_depth": "1", "resolution": str(resolution), "source": "torch"}
    write_safetensors(destination, tensors, metadata)
    return metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("source", help="PyTorch .pth/.pt state dict or checkpoint")
    parser.add_argument("destination", help="output .safetensors file")
    parser.add_argument("--activation", choices=["relu", "relu6"], default="relu")
    parser.add_argument("--bn-epsilon", type=float, default=1e-5)
    parser.add_argument("--resolution", type=int, default=224, help="input size R (R x R)")
    args = parser.parse_args()
    try:
        if args.resolution < 32:
            raise ConversionError("--resolution must be at least 32, got %d" % args.resolution)
        metadata = convert(args.source, args.destination, args.activation, args.bn_epsilon,
                           args.resolution)
    except ConversionError as error:
        sys.exit("torch_to_safetensors: %s" % error)
    print("wrote %s: alpha %s, %s classes, %s, conv_bias %s" % (
        args.destination, metadata["alpha"], metadata["num_classes"], metadata["activation"],
        metadata["conv_bias"]))


if __name__ == "__main__":
    main()
