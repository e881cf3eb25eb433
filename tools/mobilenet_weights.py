# SPDX-License-Identifier: MIT
"""Writes MobileNetV1 weights in the library's native format (docs/weights-format.md):
safetensors with one F32 tensor per parameter, named "<layer>.<parameter>" in the library's
layouts. Pure Python plus NumPy: no safetensors package needed. Shared by the converters."""

import json
import struct

import numpy as np

BLOCKS = 13
STEM_CHANNELS = 32
# Output channels of the 13 depthwise-separable rows of the paper's Table 1 (alpha 1).
BLOCK_CHANNELS = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
BN_PARAMETERS = ("gamma", "beta", "moving_mean", "moving_variance")


class ConversionError(Exception):
    """A source file that is not the MobileNetV1 the converter expects; says what and where."""


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array) in file order; metadata: dict of str -> str."""
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    chunks, offset = [], 0
    for name, array in tensors:
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": [int(d) for d in array.shape],
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for data in chunks:
            out.write(data)


def check_shape(source, name, array, expected):
    if tuple(array.shape) != tuple(expected):
        raise ConversionError("%s: %s has shape %s, expected %s"
                              % (source, name, list(array.shape), list(expected)))
    if not np.all(np.isfinite(array)):
        raise ConversionError("%s: %s holds NaN or infinite values" % (source, name))
    return np.asarray(array, dtype=np.float32)


def layer_names():
    """Our convolution layer names with their BatchNorm names, in model order."""
    yield "stem.conv", "stem.bn"
    for i in range(1, BLOCKS + 1):
        yield "dsconv%d.depthwise" % i, "dsconv%d.depthwise_bn" % i
        yield "dsconv%d.pointwise" % i, "dsconv%d.pointwise_bn" % i


def expected_shapes(stem_channels, block_channels, num_classes, in_channels=3):
    """Shape of every tensor of our format for given channel counts (no conv biases)."""
    shapes = {"stem.conv.weight": (3, 3, in_channels, stem_channels)}
    for p in BN_PARAMETERS:
        shapes["stem.bn." + p] = (stem_channels,)
    cin = stem_channels
    for i, cout in enumerate(block_channels, start=1):
        shapes["dsconv%d.depthwise.weight" % i] = (3, 3, cin)
        shapes["dsconv%d.pointwise.weight" % i] = (cin, cout)
        for p in BN_PARAMETERS:
            shapes["dsconv%d.depthwise_bn.%s" % (i, p)] = (cin,)
            shapes["dsconv%d.pointwise_bn.%s" % (i, p)] = (cout,)
        cin = cout
    shapes["classifier.weight"] = (cin, num_classes)
    shapes["classifier.bias"] = (num_classes,)
    return shapes
