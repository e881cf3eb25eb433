# SPDX-License-Identifier: MIT
"""Quantized MobileNetV1 .tflite files with random weights, for the int8 benchmarks.

    /usr/bin/python3 bench/quant/make_quant_models.py OUT_DIR [--alpha A] [--res R] [--seed S]

writes OUT_DIR/mobilenet_v1_A_R_random_uint8.tflite and ..._int8.tflite, structured as the
official files are (data/README.md): CONV_2D stem, 13 x (DEPTHWISE_CONV_2D, CONV_2D) with
TF SAME padding and ReLU6 fused, AVERAGE_POOL_2D over the whole map, CONV_2D 1x1 to 1001
logits, RESHAPE, SOFTMAX.
  uint8: the official scheme: per-tensor asymmetric uint8 weights and activations, int32 bias
         (input scale 1/128, zero point 128; probabilities 1/256, 0).
  int8:  TFLite's full-integer scheme: int8 activations (input 1/128, 0; probabilities 1/256,
         -128), per-channel symmetric int8 weights (zero point 0), per-channel int32 bias.
Both quantize ONE float network (BatchNorm-free, random weights scaled layer by layer so that
each pre-activation has a standard deviation near 1 on random inputs); each activation's range
is its ReLU6 output's observed maximum on a few random inputs, so the uint8 range is used
without saturating everywhere. Needs Debian's python3-torch, python3-numpy, python3-flatbuffers.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tflite_flat as tf  # noqa: E402

SPEC = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512),
        (1, 512), (1, 512), (2, 1024), (1, 1024)]
CLASSES = 1001


def same_pad(size, stride):
    """TF SAME for a 3x3 window: (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + 3 - size, 0)
    return total // 2, total - total // 2


class FloatLayer:
    """One convolution in TFLite's layout: OHWI, depthwise [1, 3, 3, C]."""

    def __init__(self, kind, stride, weight, bias):
        self.kind, self.stride, self.weight, self.bias = kind, stride, weight, bias
        self.max_out = 6.0

    def preactivation(self, x):  # x: N C H W (torch)
        w = torch.from_numpy(self.weight)
        if self.kind == "dw":
            w = w.permute(3, 0, 1, 2)  # [C, 1, 3, 3]
        else:
            w = w.permute(0, 3, 1, 2)  # OIHW
        if w.shape[2] == 3:
            top, bottom = same_pad(x.shape[2], self.stride)
            left, right = same_pad(x.shape[3], self.stride)
            x = F.pad(x, (left, right, top, bottom))
        groups = x.shape[1] if self.kind == "dw" else 1
        return F.conv2d(x, w, torch.from_numpy(self.bias), self.stride, groups=groups)


def float_network(alpha, resolution, images, rng):
    """Random layers, each scaled so its pre-activation has standard deviation 1 on `images`;
    records each ReLU6 output's maximum (the calibration)."""
    ch = lambda c: max(8, int(c * alpha))
    shapes = [("conv", 2, (ch(32), 3, 3, 3))]
    c = ch(32)
    for stride, out in SPEC:
        shapes += [("dw", stride, (1, 3, 3, c)), ("conv", 1, (ch(out), 1, 1, c))]
        c = ch(out)
    x, layers = images, []
    with torch.no_grad():
        for kind, stride, shape in shapes:
            fan_in = 9 if kind == "dw" else int(np.prod(shape[1:]))
            out_c = shape[3] if kind == "dw" else shape[0]
            layer = FloatLayer(kind, stride, rng.standard_normal(shape).astype(np.float32) / np.sqrt(fan_in),
                               (0.5 + 0.5 * rng.standard_normal(out_c)).astype(np.float32))
            y = layer.preactivation(x)
            scale = 1.0 / float(y.std())
            layer.weight *= scale
            layer.bias *= scale
            x = torch.clamp(layer.preactivation(x), 0.0, 6.0)
            layer.max_out = min(6.0, float(x.max()))
            layers.append(layer)
        pooled = x.mean(dim=(2, 3))
        head_w = rng.standard_normal((CLASSES, c)).astype(np.float32)
        logits = pooled @ torch.from_numpy(head_w).T
        head_scale = 2.0 / float(logits.std())  # logits with standard deviation 2
        head = FloatLayer("conv", 1, (head_w * head_scale).reshape(CLASSES, 1, 1, c),
                          (0.1 * rng.standard_normal(CLASSES)).astype(np.float32))
        logits = logits * head_scale + torch.from_numpy(head.bias)
        head.logit_range = (min(0.0, float(logits.min())) * 1.2, max(0.0, float(logits.max())) * 1.2)
    return layers, head


class Quantizer:
    """Builds the graph dict of one scheme ("uint8" or "int8")."""

    def __init__(self, scheme):
        self.scheme = scheme
        self.act_type = tf.UINT8 if scheme == "uint8" else tf.INT8
        self.shift = 0 if scheme == "uint8" else -128  # an int8 zero point is the uint8 one - 128
        self.tensors, self.operators = [], []

    def add(self, tensor):
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def activation(self, name, shape, scale, zero_point_u8):
        return self.add(tf.Tensor(name, self.act_type, shape, None, [scale], [zero_point_u8 + self.shift]))

    def weights(self, name, w, depthwise):
        if self.scheme == "uint8":
            lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
            scale = (hi - lo) / 255.0
            zp = int(np.clip(np.round(-lo / scale), 0, 255))
            q = np.clip(np.round(w / scale) + zp, 0, 255).astype(np.uint8)
            return self.add(tf.Tensor(name, tf.UINT8, list(w.shape), q, [scale], [zp])), np.array([scale])
        axis = 3 if depthwise else 0
        other = tuple(i for i in range(4) if i != axis)
        scales = np.maximum(np.abs(w).max(axis=other), 1e-8) / 127.0
        shape = [1, 1, 1, -1] if depthwise else [-1, 1, 1, 1]
        q = np.clip(np.round(w / scales.reshape(shape)), -127, 127).astype(np.int8)
        return (self.add(tf.Tensor(name, tf.INT8, list(w.shape), q, [float(s) for s in scales],
                                   [0] * len(scales), axis)), scales)

    def bias(self, name, b, input_scale, weight_scales):
        scales = (np.float32(input_scale) * weight_scales.astype(np.float32)).astype(np.float64)
        scales = np.broadcast_to(scales, b.shape)
        q = np.round(b / scales).astype(np.int32)
        per_tensor = self.scheme == "uint8"
        return self.add(tf.Tensor(name, tf.INT32, [len(b)], q, [float(scales[0])] if per_tensor else
                                  [float(s) for s in scales], [0] if per_tensor else [0] * len(b)))

    def conv(self, name, layer, x, size):
        """Adds a convolution reading tensor x (size x size); returns its output and size."""
        t_in = self.tensors[x]
        depthwise = layer.kind == "dw"
        w, ws = self.weights(name + "/weights", layer.weight, depthwise)
        b = self.bias(name + "/bias", layer.bias, t_in.scale[0], ws)
        out_size = -(-size // layer.stride)
        channels = layer.weight.shape[3] if depthwise else layer.weight.shape[0]
        y = self.activation(name + "/Relu6", [1, out_size, out_size, channels], layer.max_out / 255.0, 0)
        code = tf.DEPTHWISE_CONV_2D if depthwise else tf.CONV_2D
        self.operators.append(tf.Operator(code, [x, w, b], [y], {
            "padding": tf.SAME, "stride": layer.stride, "activation": tf.ACT_RELU6}))
        return y, out_size


def quantized_graph(scheme, layers, head, resolution):
    q = Quantizer(scheme)
    x = q.activation("input", [1, resolution, resolution, 3], 1.0 / 128.0, 128)
    size = resolution
    names = ["MobilenetV1/Conv2d_0"]
    for i in range(1, 14):
        names += [f"MobilenetV1/Conv2d_{i}_depthwise", f"MobilenetV1/Conv2d_{i}_pointwise"]
    for name, layer in zip(names, layers):
        x, size = q.conv(name, layer, x, size)
    t = q.tensors[x]
    pooled = q.add(tf.Tensor("MobilenetV1/Logits/AvgPool_1a/AvgPool", q.act_type, [1, 1, 1, t.shape[3]], None,
                             list(t.scale), list(t.zero_point)))
    q.operators.append(tf.Operator(tf.AVERAGE_POOL_2D, [x], [pooled],
                                   {"padding": tf.VALID, "stride": 2, "filter": size, "activation": tf.ACT_NONE}))
    lo, hi = head.logit_range
    logit_scale = (hi - lo) / 255.0
    logit_zp = int(np.clip(np.round(-lo / logit_scale), 0, 255))
    w, ws = q.weights("MobilenetV1/Logits/Conv2d_1c_1x1/weights", head.weight, False)
    b = q.bias("MobilenetV1/Logits/Conv2d_1c_1x1/biases", head.bias, t.scale[0], ws)
    logits = q.activation("MobilenetV1/Logits/Conv2d_1c_1x1/BiasAdd", [1, 1, 1, CLASSES], logit_scale, logit_zp)
    q.operators.append(tf.Operator(tf.CONV_2D, [pooled, w, b], [logits],
                                   {"padding": tf.SAME, "stride": 1, "activation": tf.ACT_NONE}))
    new_shape = q.add(tf.Tensor("MobilenetV1/Logits/SpatialSqueeze/shape", tf.INT32, [2],
                                np.array([1, CLASSES], np.int32)))
    squeezed = q.activation("MobilenetV1/Logits/SpatialSqueeze", [1, CLASSES], logit_scale, logit_zp)
    q.operators.append(tf.Operator(tf.RESHAPE, [logits, new_shape], [squeezed], {"new_shape": [1, CLASSES]}))
    probabilities = q.activation("MobilenetV1/Predictions/Reshape_1", [1, CLASSES], 1.0 / 256.0, 0)
    q.operators.append(tf.Operator(tf.SOFTMAX, [squeezed], [probabilities], {"beta": 1.0}))
    return {"tensors": q.tensors, "operators": q.operators, "inputs": [0], "outputs": [probabilities]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--alpha", default="1.0")
    parser.add_argument("--res", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    # A few random inputs in the input's float range [-1, 1), as uint8 / 128 - 1 gives them.
    images = torch.from_numpy((rng.integers(0, 256, (4, 3, args.res, args.res)) - 128) / 128.0).float()
    layers, head = float_network(float(args.alpha), args.res, images, rng)
    os.makedirs(args.out_dir, exist_ok=True)
    for scheme in ("uint8", "int8"):
        path = os.path.join(args.out_dir, f"mobilenet_v1_{args.alpha}_{args.res}_random_{scheme}.tflite")
        tf.write(path, quantized_graph(scheme, layers, head, args.res),
                 f"MobileNetV1 {args.alpha}/{args.res}, random weights, {scheme} scheme (bench/quant)")
        print(path)


if __name__ == "__main__":
    main()
