# SPDX-License-Identifier: MIT
"""Reference outputs of real TFLite MobileNetV1 models, computed independently of the C++ code.

Python has no TFLite runtime here, so this script reads the .tflite FlatBuffer itself (a few
lines of struct.unpack, written separately from include/mobilenet/io/flatbuffer.hpp) and runs
the graph operator by operator in float64 with PyTorch, in TFLite's own layouts: OHWI weights
turned to OIHW for torch.conv2d, TensorFlow SAME padding applied with F.pad, fused activations,
and for a quantized layer without a fused activation the clamp to its output's representable
range (what uint8 arithmetic does). Quantized weights are dequantized as (q - zero_point) *
scale and int32 biases as q * scale; activations are not rounded to uint8.

It writes tests/golden/data/tflite_reference.safetensors: for each model, the output on a
fixed synthetic image (the formula is in synthetic_image(), and tests/test_tflite.cpp computes
the same one). Only outputs are stored, never model data.

Run with Debian's interpreter (python3-torch, python3-numpy) and the shared models:

    MOBILENET_DATA_DIR=../shared/data /usr/bin/python3 tests/golden/make_tflite_golden.py
"""

import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import write_safetensors, read_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.environ.get("MOBILENET_DATA_DIR",
                          os.path.join(HERE, "..", "..", "..", "shared", "data"))
OUT = os.path.join(HERE, "data", "tflite_reference.safetensors")

MODELS = [
    ("mobilenet_v1_0.25_224.tflite", "probabilities"),
    ("mobilenet_v1_0.25_224_quant.tflite", "probabilities"),
    ("mobilenet_v1_0.5_160_quant.tflite", "probabilities"),
    ("mobilenet_v1_1.0_224_quant_embedding_extractor.tflite", "features"),
]

# ---- A minimal FlatBuffers table reader ---------------------------------------------------


class Table:
    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vtable_len = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, field_id):
        entry = 4 + 2 * field_id
        if entry >= self.vtable_len:
            return 0
        return struct.unpack_from("<H", self.buf, self.vtable + entry)[0]

    def scalar(self, field_id, fmt, default):
        off = self._field(field_id)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _target(self, field_id):
        off = self._field(field_id)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def table(self, field_id):
        at = self._target(field_id)
        return Table(self.buf, at) if at is not None else None

    def tables(self, field_id):
        at = self._target(field_id)
        if at is None:
            return []
        n = struct.unpack_from("<I", self.buf, at)[0]
        slots = [at + 4 + 4 * i for i in range(n)]
        return [Table(self.buf, s + struct.unpack_from("<I", self.buf, s)[0]) for s in slots]

    def array(self, field_id, dtype):
        at = self._target(field_id)
        if at is None:
            return np.zeros(0, dtype)
        n = struct.unpack_from("<I", self.buf, at)[0]
        return np.frombuffer(self.buf, dtype=dtype, count=n, offset=at + 4)


# Schema field ids (tensorflow/lite/schema/schema.fbs) and enum values used below.
CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D = 3, 4, 1
RESHAPE, SOFTMAX, SQUEEZE, QUANTIZE, DEQUANTIZE = 22, 25, 43, 114, 6
NP_TYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 9: np.int8}


def load_graph(path):
    buf = open(path, "rb").read()
    model = Table(buf, struct.unpack_from("<I", buf, 0)[0])
    codes = [max(c.scalar(0, "b", 0), c.scalar(3, "i", 0)) for c in model.tables(1)]
    buffers = [b.array(0, np.uint8) for b in model.tables(4)]
    graph = model.tables(2)[0]
    tensors = []
    for t in graph.tables(0):
        q = t.table(4)
        tensors.append({
            "shape": [int(d) for d in t.array(0, np.int32)],
            "type": t.scalar(1, "b", 0),
            "data": buffers[t.scalar(2, "I", 0)],
            "scale": q.array(2, np.float32) if q else np.zeros(0, np.float32),
            "zero_point": q.array(3, np.int64) if q else np.zeros(0, np.int64),
            "qdim": q.scalar(6, "i", 0) if q else 0,
        })
    ops = []
    for o in graph.tables(3):
        options = o.table(4)
        ops.append({"code": codes[o.scalar(0, "I", 0)],
                    "inputs": [int(i) for i in o.array(1, np.int32)],
                    "outputs": [int(i) for i in o.array(2, np.int32)],
                    "options": options})
    return tensors, ops, [int(i) for i in graph.array(1, np.int32)], \
        [int(i) for i in graph.array(2, np.int32)]


def dequantize(t):
    """A constant tensor as float64 in its own layout."""
    raw = np.frombuffer(t["data"].tobytes(), dtype=NP_TYPES[t["type"]]).reshape(t["shape"])
    if t["type"] == 0:
        return raw.astype(np.float64)
    scale = t["scale"].astype(np.float64)
    zero = t["zero_point"].astype(np.float64) if len(t["zero_point"]) else np.zeros_like(scale)
    if len(scale) > 1:  # per channel along qdim
        shape = [1] * len(t["shape"])
        shape[t["qdim"]] = len(scale)
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (raw.astype(np.float64) - zero) * scale


def same_pads(size, stride, k):
    """TensorFlow SAME: (before, after) for one dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def activation(y, fused, out_tensor):
    if fused == 3:
        return y.clamp(0.0, 6.0)
    if fused == 1:
        return y.clamp(min=0.0)
    assert fused == 0, "unexpected fused activation %d" % fused
    if out_tensor["type"] == 3 and len(out_tensor["scale"]) == 1:  # uint8 saturates
        s, z = float(out_tensor["scale"][0]), float(out_tensor["zero_point"][0])
        return y.clamp((0 - z) * s, (255 - z) * s)
    return y


def run(path, image):
    tensors, ops, inputs, outputs = load_graph(path)
    values = {inputs[0]: torch.from_numpy(image)}  # NHWC float64
    for op in ops:
        code, ins, outs, opt = op["code"], op["inputs"], op["outputs"], op["options"]
        x = values.get(ins[0])
        if code in (QUANTIZE, DEQUANTIZE):
            values[outs[0]] = x if x is not None else torch.from_numpy(dequantize(tensors[ins[0]]))
            continue
        if code in (CONV_2D, DEPTHWISE_CONV_2D):
            w = torch.from_numpy(dequantize(tensors[ins[1]]))
            b = torch.from_numpy(dequantize(tensors[ins[2]])) if len(ins) > 2 else None
            padding = opt.scalar(0, "b", 0)
            stride_w, stride_h = opt.scalar(1, "i", 1), opt.scalar(2, "i", 1)
            fused = opt.scalar(3 if code == CONV_2D else 4, "b", 0)
            xc = x.permute(0, 3, 1, 2)  # NCHW
            kh, kw = w.shape[1], w.shape[2]
            if padding == 0:
                top, bottom = same_pads(xc.shape[2], stride_h, kh)
                left, right = same_pads(xc.shape[3], stride_w, kw)
                xc = F.pad(xc, (left, right, top, bottom))
            if code == CONV_2D:
                y = F.conv2d(xc, w.permute(0, 3, 1, 2), b, stride=(stride_h, stride_w))
            else:
                channels = w.shape[3]
                y = F.conv2d(xc, w.permute(3, 0, 1, 2), b, stride=(stride_h, stride_w),
                             groups=channels)
            values[outs[0]] = activation(y.permute(0, 2, 3, 1), fused, tensors[outs[0]])
        elif code == AVERAGE_POOL_2D:
            assert opt.scalar(0, "b", 0) == 1, "only VALID pooling is needed here"
            fw, fh = opt.scalar(3, "i", 0), opt.scalar(4, "i", 0)
            sw, sh = opt.scalar(1, "i", 1), opt.scalar(2, "i", 1)
            y = F.avg_pool2d(x.permute(0, 3, 1, 2), (fh, fw), (sh, sw))
            values[outs[0]] = y.permute(0, 2, 3, 1)
        elif code in (RESHAPE, SQUEEZE):
            values[outs[0]] = x.reshape(tensors[outs[0]]["shape"])
        elif code == SOFTMAX:
            values[outs[0]] = torch.softmax(x, dim=-1)
        else:
            raise SystemExit("%s: operator %d is not needed for MobileNetV1" % (path, code))
    return values[outputs[0]].numpy()


def synthetic_image(resolution):
    """Smooth values in [-1, 1]; test_tflite.cpp computes the same formula."""
    h, w, c = np.meshgrid(np.arange(resolution), np.arange(resolution), np.arange(3),
                          indexing="ij")
    image = 0.9 * np.sin(0.07 * h + 0.11 * w + 1.3 * c) * np.cos(0.05 * (h - w) + 0.4 * c)
    return image.astype(np.float32).astype(np.float64)[None]


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    results = {}
    for name, kind in MODELS:
        path = os.path.join(DATA_DIR, "models", name)
        if not os.path.exists(path):
            raise SystemExit("%s not found: set MOBILENET_DATA_DIR" % path)
        tensors, _, inputs, _ = load_graph(path)
        resolution = tensors[inputs[0]]["shape"][1]
        out = run(path, synthetic_image(resolution)).reshape(1, -1)
        key = "%s.%s" % (name[:-len(".tflite")], kind)
        results[key] = out
        top = np.argsort(-out[0])[:3]
        print("%s: %d values, top-3 %s (%s), sum %.6f" % (
            key, out.shape[1], list(top), ", ".join("%.4f" % out[0][i] for i in top), out.sum()))
    write_safetensors(OUT, results, {"input": "0.9 sin(0.07 h + 0.11 w + 1.3 c) "
                                              "cos(0.05 (h - w) + 0.4 c), as float32"})
    back, _ = read_safetensors(OUT)
    for key in results:
        assert np.array_equal(back[key], results[key]), key
    print("wrote %s (%d bytes)" % (OUT, os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
