# SPDX-License-Identifier: MIT
"""Reads and writes the TFLite files of the quantized benchmarks: a plain FlatBuffers reader
(struct only) and a writer on Debian's python3-flatbuffers Builder, for the subset of
schema.fbs a sequential MobileNetV1 graph uses (tensors with per-tensor or per-channel
quantization, CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE, SOFTMAX).

A graph is a dict: {"tensors": [Tensor], "operators": [Operator], "inputs": [int],
"outputs": [int]}; see Tensor and Operator below.
"""

import struct
from dataclasses import dataclass, field

import numpy as np

# enum TensorType
FLOAT32, INT32, UINT8, INT8 = 0, 2, 3, 9
NUMPY_TYPE = {FLOAT32: np.float32, INT32: np.int32, UINT8: np.uint8, INT8: np.int8}
# enum BuiltinOperator
AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, RESHAPE, SOFTMAX = 1, 3, 4, 22, 25
# enum BuiltinOptions (the union's tag)
OPT_CONV, OPT_DEPTHWISE, OPT_POOL, OPT_SOFTMAX, OPT_RESHAPE = 1, 2, 5, 9, 17
# enum Padding, enum ActivationFunctionType
SAME, VALID = 0, 1
ACT_NONE, ACT_RELU6 = 0, 3


@dataclass
class Tensor:
    name: str
    type: int
    shape: list
    data: np.ndarray = None  # constant tensors: values with `shape` and the numpy type of `type`
    scale: list = field(default_factory=list)
    zero_point: list = field(default_factory=list)
    quantized_dimension: int = 0


@dataclass
class Operator:
    code: int
    inputs: list
    outputs: list
    # padding, stride, activation (conv, depthwise, pool), filter (pool), beta (softmax)
    options: dict = field(default_factory=dict)


# ---- reading -------------------------------------------------------------------------------


class _Table:
    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, fid):
        at = 4 + 2 * fid
        if at >= self.vsize:
            return None
        off = struct.unpack_from("<H", self.buf, self.vtable + at)[0]
        return self.pos + off if off else None

    def scalar(self, fid, fmt, default=0):
        p = self._field(fid)
        return default if p is None else struct.unpack_from("<" + fmt, self.buf, p)[0]

    def _ref(self, fid):
        p = self._field(fid)
        return None if p is None else p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, fid):
        p = self._ref(fid)
        return None if p is None else _Table(self.buf, p)

    def vector(self, fid, dtype):
        p = self._ref(fid)
        if p is None:
            return np.zeros(0, dtype)
        n = struct.unpack_from("<I", self.buf, p)[0]
        return np.frombuffer(self.buf, dtype, n, p + 4)

    def tables(self, fid):
        p = self._ref(fid)
        if p is None:
            return []
        n = struct.unpack_from("<I", self.buf, p)[0]
        return [_Table(self.buf, p + 4 + 4 * i + struct.unpack_from("<I", self.buf, p + 4 + 4 * i)[0])
                for i in range(n)]

    def string(self, fid):
        p = self._ref(fid)
        if p is None:
            return ""
        n = struct.unpack_from("<I", self.buf, p)[0]
        return bytes(self.buf[p + 4:p + 4 + n]).decode()


def _options(code, t):
    if t is None:
        return {}
    if code == CONV_2D:
        return {"padding": t.scalar(0, "b"), "stride": t.scalar(1, "i"), "activation": t.scalar(3, "b")}
    if code == DEPTHWISE_CONV_2D:
        return {"padding": t.scalar(0, "b"), "stride": t.scalar(1, "i"), "activation": t.scalar(4, "b"),
                "depth_multiplier": t.scalar(3, "i")}
    if code == AVERAGE_POOL_2D:
        return {"padding": t.scalar(0, "b"), "stride": t.scalar(1, "i"), "filter": t.scalar(3, "i"),
                "activation": t.scalar(5, "b")}
    if code == SOFTMAX:
        return {"beta": t.scalar(0, "f", 0.0)}
    return {}


def read(path):
    """The first subgraph of a .tflite file as a graph dict."""
    with open(path, "rb") as f:
        buf = f.read()
    model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    buffers = [b.vector(0, np.uint8) for b in model.tables(4)]
    codes = [max(c.scalar(0, "b"), c.scalar(3, "i")) for c in model.tables(1)]
    graph = model.tables(2)[0]
    tensors = []
    for t in graph.tables(0):
        kind = t.scalar(1, "b")
        shape = [int(d) for d in t.vector(0, np.int32)]
        raw = buffers[t.scalar(2, "I")]
        data = None
        if raw.size:
            data = np.frombuffer(raw.tobytes(), NUMPY_TYPE[kind]).reshape(shape).copy()
        q = t.table(4)
        scale = [float(s) for s in q.vector(2, np.float32)] if q else []
        zp = [int(z) for z in q.vector(3, np.int64)] if q else []
        tensors.append(Tensor(t.string(3), kind, shape, data, scale, zp, q.scalar(6, "i") if q else 0))
    operators = []
    for op in graph.tables(3):
        code = codes[op.scalar(0, "I")]
        operators.append(Operator(code, [int(i) for i in op.vector(1, np.int32)],
                                  [int(i) for i in op.vector(2, np.int32)], _options(code, op.table(4))))
    return {"tensors": tensors, "operators": operators,
            "inputs": [int(i) for i in graph.vector(1, np.int32)],
            "outputs": [int(i) for i in graph.vector(2, np.int32)]}


# ---- writing -------------------------------------------------------------------------------


def _refs(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _write_options(b, op):
    o = op.options
    if op.code == CONV_2D:
        b.StartObject(6)
        b.PrependInt8Slot(0, o["padding"], -1)
        b.PrependInt32Slot(1, o["stride"], 0)
        b.PrependInt32Slot(2, o["stride"], 0)
        b.PrependInt8Slot(3, o["activation"], -1)
        b.PrependInt32Slot(4, 1, 0)
        b.PrependInt32Slot(5, 1, 0)
        return OPT_CONV, b.EndObject()
    if op.code == DEPTHWISE_CONV_2D:
        b.StartObject(7)
        b.PrependInt8Slot(0, o["padding"], -1)
        b.PrependInt32Slot(1, o["stride"], 0)
        b.PrependInt32Slot(2, o["stride"], 0)
        b.PrependInt32Slot(3, 1, 0)
        b.PrependInt8Slot(4, o["activation"], -1)
        b.PrependInt32Slot(5, 1, 0)
        b.PrependInt32Slot(6, 1, 0)
        return OPT_DEPTHWISE, b.EndObject()
    if op.code == AVERAGE_POOL_2D:
        b.StartObject(6)
        b.PrependInt8Slot(0, o["padding"], -1)
        b.PrependInt32Slot(1, o["stride"], 0)
        b.PrependInt32Slot(2, o["stride"], 0)
        b.PrependInt32Slot(3, o["filter"], 0)
        b.PrependInt32Slot(4, o["filter"], 0)
        b.PrependInt8Slot(5, o.get("activation", ACT_NONE), -1)
        return OPT_POOL, b.EndObject()
    if op.code == SOFTMAX:
        b.StartObject(1)
        b.PrependFloat32Slot(0, o.get("beta", 1.0), -1.0)
        return OPT_SOFTMAX, b.EndObject()
    if op.code == RESHAPE:
        shape = b.CreateNumpyVector(np.asarray(o["new_shape"], np.int32))
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, shape, 0)
        return OPT_RESHAPE, b.EndObject()
    return 0, None


def _write_tensor(b, t, buffer_index):
    quant = None
    if t.scale:
        scale = b.CreateNumpyVector(np.asarray(t.scale, np.float32))
        zp = b.CreateNumpyVector(np.asarray(t.zero_point, np.int64))
        b.StartObject(7)
        b.PrependUOffsetTRelativeSlot(2, scale, 0)
        b.PrependUOffsetTRelativeSlot(3, zp, 0)
        b.PrependInt32Slot(6, t.quantized_dimension, -1)
        quant = b.EndObject()
    name = b.CreateString(t.name)
    shape = b.CreateNumpyVector(np.asarray(t.shape, np.int32))
    b.StartObject(6)
    b.PrependUOffsetTRelativeSlot(0, shape, 0)
    b.PrependInt8Slot(1, t.type, -1)
    b.PrependUint32Slot(2, buffer_index, 0xFFFFFFFF)
    b.PrependUOffsetTRelativeSlot(3, name, 0)
    if quant is not None:
        b.PrependUOffsetTRelativeSlot(4, quant, 0)
    return b.EndObject()


def write(path, graph, description="mobilenet bench/quant"):
    """Writes a graph dict as a version-3 .tflite file (buffer 0 empty, one buffer per constant)."""
    b = __import__("flatbuffers").Builder(1 << 20)
    buffers, tensor_refs = [], []
    b.StartObject(1)
    buffers.append(b.EndObject())
    for t in graph["tensors"]:
        index = 0
        if t.data is not None:
            b.StartVector(1, t.data.nbytes, 16)  # 16-byte aligned, as the converter writes them
            b.head = b.head - t.data.nbytes
            b.Bytes[b.head:b.head + t.data.nbytes] = np.ascontiguousarray(t.data).tobytes()
            data = b.EndVector(t.data.nbytes)
            b.StartObject(1)
            b.PrependUOffsetTRelativeSlot(0, data, 0)
            index = len(buffers)
            buffers.append(b.EndObject())
        tensor_refs.append(_write_tensor(b, t, index))
    codes, op_refs = [], []
    for op in graph["operators"]:
        if op.code not in codes:
            codes.append(op.code)
        kind, options = _write_options(b, op)
        inputs = b.CreateNumpyVector(np.asarray(op.inputs, np.int32))
        outputs = b.CreateNumpyVector(np.asarray(op.outputs, np.int32))
        b.StartObject(5)
        b.PrependUint32Slot(0, codes.index(op.code), 0xFFFFFFFF)
        b.PrependUOffsetTRelativeSlot(1, inputs, 0)
        b.PrependUOffsetTRelativeSlot(2, outputs, 0)
        if options is not None:
            b.PrependUint8Slot(3, kind, 0xFF)
            b.PrependUOffsetTRelativeSlot(4, options, 0)
        op_refs.append(b.EndObject())
    tensors, operators = _refs(b, tensor_refs), _refs(b, op_refs)
    inputs = b.CreateNumpyVector(np.asarray(graph["inputs"], np.int32))
    outputs = b.CreateNumpyVector(np.asarray(graph["outputs"], np.int32))
    name = b.CreateString("main")
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tensors, 0)
    b.PrependUOffsetTRelativeSlot(1, inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, outputs, 0)
    b.PrependUOffsetTRelativeSlot(3, operators, 0)
    b.PrependUOffsetTRelativeSlot(4, name, 0)
    subgraphs = _refs(b, [b.EndObject()])
    code_refs = []
    for code in codes:
        b.StartObject(4)
        b.PrependInt8Slot(0, min(code, 127), -1)
        b.PrependInt32Slot(2, 1, 0)
        b.PrependInt32Slot(3, code, -1)
        code_refs.append(b.EndObject())
    code_vector, buffer_vector = _refs(b, code_refs), _refs(b, buffers)
    text = b.CreateString(description)
    b.StartObject(5)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, code_vector, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    b.PrependUOffsetTRelativeSlot(3, text, 0)
    b.PrependUOffsetTRelativeSlot(4, buffer_vector, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    with open(path, "wb") as f:
        f.write(b.Output())
