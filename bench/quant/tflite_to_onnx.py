# SPDX-License-Identifier: MIT
"""A quantized MobileNetV1 .tflite (uint8 or int8, official or bench/quant's) to an ONNX model
that ONNX Runtime runs in integers.

    /usr/bin/python3 bench/quant/tflite_to_onnx.py MODEL.tflite OUT.onnx [--weights file|s8] [--uint8-activations]

  --weights file  (default) the file's quantized weights, zero points and scales as they are:
                  per-tensor asymmetric uint8 for uint8 files, per-channel symmetric int8 for
                  int8 files. Biases, activation scales and zero points are the file's too.
  --weights s8    for a uint8 file: weights re-quantized to symmetric int8 per output channel
                  (scale max|w| / 127, zero point 0) and biases rescaled to match. NOT the
                  file's weights: it is what a user converts to, because ONNX Runtime's fast
                  (VNNI) kernels take symmetric int8 weights only. Activations stay uint8.

  --uint8-activations  for an int8 file: activations (input and output too) as uint8 = int8 + 128
                  with zero points + 128, the same arithmetic; ONNX Runtime's fast kernels take
                  uint8 activations (its quantizer's default), int8 ones run far slower.

The graph: input [N, R, R, 3] in the file's input type (NHWC, as TFLite takes it), Transpose to
NCHW, QLinearConv for the stem, every depthwise (group = C) and pointwise convolution and the
classifier, com.microsoft QLinearGlobalAveragePool, Reshape, com.microsoft QLinearSoftmax;
output [N, classes] in the file's output type. TF SAME padding is written out explicitly.
ReLU6 is the output range's saturation where the range implies it (every file here), else an
integer Clip. ONNX Runtime requantizes in float32, so its bytes differ from TFLite's builtin
kernels by one step in a few percent of the values. Needs Debian's python3-onnx.
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tflite_flat as tf  # noqa: E402

ONNX_TYPE = {tf.UINT8: TensorProto.UINT8, tf.INT8: TensorProto.INT8}
RANGE = {tf.UINT8: (0, 255), tf.INT8: (-128, 127)}


def same_pads(size, stride, kernel):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Converter:
    def __init__(self, graph, weights, uint8_activations=False):
        self.g, self.weights, self.u8 = graph, weights, uint8_activations
        self.nodes, self.inits, self.names = [], [], {}
        self.requantized = 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def qparams(self, index, prefix):
        """Scale and zero point initializers of activation tensor `index`."""
        t = self.g["tensors"][index]
        if len(t.scale) != 1:
            raise ValueError(f"activation '{t.name}' has {len(t.scale)} scales; expected one")
        zp = t.zero_point[0] + (128 if self.u8 and t.type == tf.INT8 else 0)
        zp_type = np.uint8 if t.type == tf.UINT8 or self.u8 else np.int8
        return (self.const(prefix + "_scale", np.float32(t.scale[0])),
                self.const(prefix + "_zero_point", zp_type(zp)))

    def onnx_weights(self, op, w, b, x):
        """Weights (OIHW), their scale and zero point, and the int32 bias, in the form chosen."""
        depthwise = op.code == tf.DEPTHWISE_CONV_2D
        q = w.data.transpose(3, 0, 1, 2) if depthwise else w.data.transpose(0, 3, 1, 2)
        out_c = q.shape[0]
        scale = np.asarray(w.scale, np.float32)
        zp = np.asarray(w.zero_point, np.int64)
        bias = b.data.astype(np.int64) if b is not None else np.zeros(out_c, np.int64)
        if self.weights == "s8" and w.type == tf.UINT8:
            real = (q.astype(np.float64) - zp.reshape(-1, 1, 1, 1)) * scale.astype(np.float64).reshape(-1, 1, 1, 1)
            peak = np.abs(real).reshape(out_c, -1).max(axis=1)
            s8 = np.where(peak > 0, peak / 127.0, float(scale.max())).astype(np.float32)
            q = np.clip(np.round(real / s8.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
            x_scale = np.float32(self.g["tensors"][x].scale[0])
            # The same real bias on the new scale x_scale * s8[c].
            bias = np.round(bias * (np.float64(x_scale * scale) / (x_scale * s8).astype(np.float64)))
            self.requantized += 1
            return q, s8, np.zeros(out_c, np.int8), bias.astype(np.int32)
        if w.type == tf.UINT8:
            if len(scale) != 1:
                raise ValueError(f"uint8 weights '{w.name}' are quantized per channel; expected per tensor")
            return q.astype(np.uint8), scale[0], np.uint8(zp[0]), bias.astype(np.int32)
        if np.any(zp != 0):
            raise ValueError(f"int8 weights '{w.name}' have non-zero zero points; expected symmetric")
        if len(scale) == 1:
            return q.astype(np.int8), scale[0], np.int8(0), bias.astype(np.int32)
        return q.astype(np.int8), scale, np.zeros(out_c, np.int8), bias.astype(np.int32)

    def clamp(self, op, y, name):
        """An integer Clip where the fused activation is narrower than the output type's range."""
        t = self.g["tensors"][op.outputs[0]]
        low, high = RANGE[t.type]
        act = op.options.get("activation", tf.ACT_NONE)
        if act == tf.ACT_NONE:
            return y
        if act != tf.ACT_RELU6:
            raise ValueError(f"{name}: fused activation {act} is not supported (NONE or RELU6)")
        zp, s = t.zero_point[0], t.scale[0]
        lo = max(low, zp)
        hi = min(high, zp + int(np.floor(np.float32(6.0) / np.float32(s) + 0.5)))
        if (lo, hi) == (low, high):
            return y
        dtype = np.uint8 if t.type == tf.UINT8 or self.u8 else np.int8
        if self.u8 and t.type == tf.INT8:
            lo, hi = lo + 128, hi + 128
        self.nodes.append(helper.make_node("Clip", [y, self.const(name + "_lo", dtype(lo)),
                                                    self.const(name + "_hi", dtype(hi))], [y + "_clip"]))
        return y + "_clip"

    def conv(self, op, x, size, i):
        name = f"conv{i}"
        x_index, w_index = op.inputs[0], op.inputs[1]
        w = self.g["tensors"][w_index]
        b = self.g["tensors"][op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        q, w_scale, w_zp, bias = self.onnx_weights(op, w, b, x_index)
        k, stride = q.shape[2], op.options["stride"]
        if op.options["padding"] == tf.SAME:
            top, bottom = same_pads(size, stride, k)
        else:
            top, bottom = 0, 0
        out_size = (size + top + bottom - k) // stride + 1
        depthwise = op.code == tf.DEPTHWISE_CONV_2D
        inputs = [x, *self.qparams(x_index, name + "_x"), self.const(name + "_w", q),
                  self.const(name + "_w_scale", w_scale), self.const(name + "_w_zero_point", w_zp),
                  *self.qparams(op.outputs[0], name + "_y"), self.const(name + "_bias", bias)]
        self.nodes.append(helper.make_node(
            "QLinearConv", inputs, [name], name=w.name[:120], kernel_shape=[k, k], strides=[stride, stride],
            pads=[top, top, bottom, bottom], group=q.shape[0] if depthwise else 1))
        return self.clamp(op, name, name), out_size

    def convert(self):
        g = self.g
        inp = g["tensors"][g["inputs"][0]]
        out = g["tensors"][g["outputs"][0]]
        resolution = inp.shape[1]
        self.nodes.append(helper.make_node("Transpose", ["input"], ["input_nchw"], perm=[0, 3, 1, 2]))
        x, size = "input_nchw", resolution
        for i, op in enumerate(g["operators"]):
            if op.code in (tf.CONV_2D, tf.DEPTHWISE_CONV_2D):
                x, size = self.conv(op, x, size, i)
            elif op.code == tf.AVERAGE_POOL_2D:
                if op.options["filter"] != size and not (op.options["padding"] == tf.VALID and size == 1):
                    raise ValueError(f"average pool {op.options} over a {size}x{size} map is not global")
                self.nodes.append(helper.make_node(
                    "QLinearGlobalAveragePool", [x, *self.qparams(op.inputs[0], "pool_x"),
                                                 *self.qparams(op.outputs[0], "pool_y")],
                    ["pooled"], domain="com.microsoft", channels_last=0))
                x = "pooled"
            elif op.code == tf.RESHAPE:
                classes = g["tensors"][op.outputs[0]].shape[-1]
                self.nodes.append(helper.make_node("Reshape", [x, self.const("flat_shape", np.array([-1, classes],
                                                                                                   np.int64))],
                                                   ["flat"]))
                x = "flat"
            elif op.code == tf.SOFTMAX:
                if op.options.get("beta", 1.0) != 1.0:
                    raise ValueError("softmax beta != 1 is not supported")
                self.nodes.append(helper.make_node(
                    "QLinearSoftmax", [x, *self.qparams(op.inputs[0], "softmax_x"),
                                       *self.qparams(op.outputs[0], "softmax_y")],
                    ["softmax"], domain="com.microsoft", axis=-1, opset=13))
                x = "softmax"
            else:
                raise ValueError(f"operator {op.code} is not part of MobileNetV1")
        if len(out.shape) == 4:  # a backbone's pooled features: back to NHWC, as TFLite gives them
            self.nodes.append(helper.make_node("Transpose", [x], ["output"], perm=[0, 2, 3, 1]))
        else:
            self.nodes.append(helper.make_node("Identity", [x], ["output"]))
        out_shape = ["batch"] + out.shape[1:]
        graph = helper.make_graph(
            self.nodes, "mobilenet_v1_quantized",
            [helper.make_tensor_value_info("input", TensorProto.UINT8 if self.u8 else ONNX_TYPE[inp.type], ["batch", resolution, resolution,
                                                                          inp.shape[3]])],
            [helper.make_tensor_value_info("output", TensorProto.UINT8 if self.u8 else ONNX_TYPE[out.type],
                                           out_shape)], self.inits)
        model = helper.make_model(graph, producer_name="mobilenet bench/quant/tflite_to_onnx.py",
                                  opset_imports=[helper.make_opsetid("", 13),
                                                 helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8
        return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tflite")
    parser.add_argument("onnx")
    parser.add_argument("--weights", choices=["file", "s8"], default="file")
    parser.add_argument("--uint8-activations", action="store_true")
    args = parser.parse_args()
    converter = Converter(tf.read(args.tflite), args.weights, args.uint8_activations)
    model = converter.convert()
    if args.weights == "s8":
        model.doc_string = (f"{args.tflite} with its uint8 weights re-quantized to symmetric int8 per channel "
                            f"({converter.requantized} convolutions)")
    else:
        model.doc_string = f"{args.tflite} with its own quantized weights"
    if args.uint8_activations:
        model.doc_string += "; activations as uint8 (int8 + 128)"
    onnx.save(model, args.onnx)
    print(f"{args.onnx}: {model.doc_string}")


if __name__ == "__main__":
    main()
