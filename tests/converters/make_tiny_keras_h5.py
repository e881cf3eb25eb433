#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a tiny Keras-2-layout MobileNet .h5 (alpha 0.25, 32 x 32 input, 7 classes, random
weights and BatchNorm statistics) and, from an independent NumPy forward pass of the Keras
graph (ZeroPadding2D((0, 1), (0, 1)) + 'valid' before each stride-2 convolution, BatchNorm
eps 1e-3, ReLU6, global average pool, 1x1 conv head with bias, softmax), the expected
probabilities for one random input, into a safetensors case file.

    /usr/bin/python3 tests/keras/make_tiny_keras_h5.py OUT_DIR   # writes tiny.h5, tiny_case.safetensors

Exit code 77 (a skipped test for ctest) when h5py or NumPy is missing."""

import json
import os
import sys

try:
    import h5py
    import numpy as np
except ImportError as error:
    print("skipped: %s (Debian: python3-h5py python3-numpy)" % error)
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from mobilenet_weights import BLOCK_CHANNELS, write_safetensors  # noqa: E402

ALPHA, RESOLUTION, CLASSES, EPS = 0.25, 32, 7, 1e-3
STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]


def random_weights(rng):
    """Keras layer name -> [(weight name, array)], in Keras' order."""
    layers = {}

    def bn(name, c):
        layers[name] = [("gamma", rng.uniform(0.5, 1.5, c)), ("beta", rng.uniform(-0.5, 0.5, c)),
                        ("moving_mean", rng.uniform(-0.5, 0.5, c)),
                        ("moving_variance", rng.uniform(0.5, 2.0, c))]

    stem = int(32 * ALPHA)
    layers["conv1"] = [("kernel", rng.normal(0, (2 / 27) ** 0.5, (3, 3, 3, stem)))]
    bn("conv1_bn", stem)
    cin = stem
    for i, base in enumerate(BLOCK_CHANNELS, start=1):
        cout = int(base * ALPHA)
        layers["conv_dw_%d" % i] = [("depthwise_kernel", rng.normal(0, (2 / 9) ** 0.5, (3, 3, cin, 1)))]
        bn("conv_dw_%d_bn" % i, cin)
        layers["conv_pw_%d" % i] = [("kernel", rng.normal(0, (2 / cin) ** 0.5, (1, 1, cin, cout)))]
        bn("conv_pw_%d_bn" % i, cout)
        cin = cout
    layers["conv_preds"] = [("kernel", rng.normal(0, (1 / cin) ** 0.5, (1, 1, cin, CLASSES))),
                            ("bias", rng.uniform(-0.1, 0.1, CLASSES))]
    return {k: [(n, a.astype(np.float32)) for n, a in v] for k, v in layers.items()}


def conv(x, kernel, stride, depthwise):
    """NHWC 'valid' convolution of an already padded x; kernel HWIO or [kh, kw, C, 1]."""
    kh, kw = kernel.shape[:2]
    n, h, w, c = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((n, oh, ow, c if depthwise else kernel.shape[3]))
    for dy in range(kh):
        for dx in range(kw):
            patch = x[:, dy:dy + stride * (oh - 1) + 1:stride, dx:dx + stride * (ow - 1) + 1:stride, :]
            out += patch * kernel[dy, dx, :, 0] if depthwise else patch @ kernel[dy, dx]
    return out


def keras_pad(x, stride):
    # 'same' at stride 1 pads 1 on each side; Keras MobileNet pads (0, 1) then 'valid' at stride 2.
    pads = ((0, 0), (1, 1), (1, 1), (0, 0)) if stride == 1 else ((0, 0), (0, 1), (0, 1), (0, 0))
    return np.pad(x, pads)


def forward(layers, x):
    w = {k: dict(v) for k, v in layers.items()}

    def bn_relu6(y, name):
        p = {k: v.astype(np.float64) for k, v in w[name].items()}
        y = (y - p["moving_mean"]) / np.sqrt(p["moving_variance"] + EPS) * p["gamma"] + p["beta"]
        return np.clip(y, 0, 6)

    x = bn_relu6(conv(keras_pad(x, 2), w["conv1"]["kernel"].astype(np.float64), 2, False), "conv1_bn")
    for i, stride in enumerate(STRIDES, start=1):
        x = conv(keras_pad(x, stride), w["conv_dw_%d" % i]["depthwise_kernel"].astype(np.float64), stride, True)
        x = bn_relu6(x, "conv_dw_%d_bn" % i)
        x = bn_relu6(x @ w["conv_pw_%d" % i]["kernel"][0, 0].astype(np.float64), "conv_pw_%d_bn" % i)
    pooled = x.mean(axis=(1, 2))
    logits = pooled @ w["conv_preds"]["kernel"][0, 0].astype(np.float64) + w["conv_preds"]["bias"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def model_config(layers):
    """Just enough of Keras' model_config for the converter's architecture checks."""
    entries = [{"class_name": "InputLayer", "config": {"name": "input_1",
                "batch_input_shape": [None, RESOLUTION, RESOLUTION, 3]}}]
    for name in layers:
        if name.endswith("_bn"):
            entries.append({"class_name": "BatchNormalization", "config": {"name": name, "epsilon": EPS}})
            entries.append({"class_name": "ReLU", "config": {"name": name[:-3] + "_relu", "max_value": 6.0}})
        else:
            entries.append({"class_name": "Conv2D", "config": {"name": name, "use_bias": name == "conv_preds"}})
    for i, stride in enumerate(STRIDES, start=1):
        if stride == 2:
            entries.append({"class_name": "ZeroPadding2D",
                            "config": {"name": "conv_pad_%d" % i, "padding": [[0, 1], [0, 1]]}})
    return {"class_name": "Functional", "config": {"name": "mobilenet_0.25_32", "layers": entries}}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240917)
    layers = random_weights(rng)
    with h5py.File(os.path.join(out_dir, "tiny.h5"), "w") as h5:
        h5.attrs["keras_version"] = "2.8.0"
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["model_config"] = json.dumps(model_config(layers))
        group = h5.create_group("model_weights")
        group.attrs["layer_names"] = np.array([n.encode() for n in layers])
        for name, weights in layers.items():
            g = group.create_group(name)
            g.attrs["weight_names"] = np.array([("%s/%s:0" % (name, w)).encode() for w, _ in weights])
            for w, array in weights:
                g.create_dataset("%s/%s:0" % (name, w), data=array)
    x = rng.uniform(-1, 1, (1, RESOLUTION, RESOLUTION, 3))
    probabilities = forward(layers, x)
    write_safetensors(os.path.join(out_dir, "tiny_case.safetensors"),
                      [("input", x), ("probabilities", probabilities.reshape(1, 1, 1, CLASSES))],
                      {"alpha": ALPHA, "resolution": RESOLUTION, "num_classes": CLASSES})
    print("wrote tiny.h5 and tiny_case.safetensors to %s; probabilities %s"
          % (out_dir, np.array2string(probabilities[0], precision=4)))


if __name__ == "__main__":
    main()
