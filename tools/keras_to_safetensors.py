#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Converts a Keras MobileNet (v1) .h5 file into the library's safetensors weights format.

    /usr/bin/python3 tools/keras_to_safetensors.py mobilenet_0.25_224.h5 out.safetensors

Reads the HDF5 files Keras 2 writes, a whole model (model.save("m.h5")) or its weights alone
(model.save_weights("m.h5")), of keras.applications.MobileNet or a model built the same way:
layer names conv1, conv1_bn, conv_dw_<i>, conv_dw_<i>_bn, conv_pw_<i>, conv_pw_<i>_bn for
i = 1..13, and the head conv_preds (a 1x1 convolution with bias). BatchNorm is written unfolded
(gamma, beta, moving mean and variance) with Keras' epsilon (1e-3 unless the model says
otherwise). Keras' ZeroPadding2D((0, 1), (0, 1)) before each stride-2 'valid' convolution is
TensorFlow SAME padding on even sizes, the library's Padding::same().

Needs h5py and NumPy (Debian: python3-h5py, python3-numpy)."""

import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilenet_weights import (BLOCKS, BN_PARAMETERS, STEM_CHANNELS, ConversionError,  # noqa: E402
                               check_shape, expected_shapes, write_safetensors)

KERAS_BN = {"gamma": "gamma", "beta": "beta",
            "moving_mean": "moving_mean", "moving_variance": "moving_variance"}


def keras_layers(source, h5):
    """Keras layer name -> its config, from the model_config attribute (absent in weights-only
    files, in which case Keras MobileNet's defaults are assumed)."""
    raw = h5.attrs.get("model_config")
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        config = json.loads(raw)
        return {layer["config"]["name"]: layer for layer in config["config"]["layers"]}
    except (ValueError, KeyError, TypeError) as error:
        raise ConversionError("%s: unreadable model_config (%s)" % (source, error))


def read_weights(source, h5):
    """Keras layer name -> {weight name without ':0' -> array}."""
    group = h5["model_weights"] if "model_weights" in h5 else h5
    names = group.attrs.get("layer_names")
    if names is None:
        raise ConversionError("%s: no 'layer_names': not a Keras 2 HDF5 model or weights file" % source)
    weights = {}
    for layer in names:
        layer = layer.decode("utf-8") if isinstance(layer, bytes) else str(layer)
        if layer not in group:
            continue
        entries = {}
        for weight in group[layer].attrs.get("weight_names", []):
            weight = weight.decode("utf-8") if isinstance(weight, bytes) else str(weight)
            short = re.sub(r":\d+$", "", weight.split("/")[-1])
            entries[short] = np.array(group[layer][weight])
        weights[layer] = entries
    return weights


def take(source, weights, layer, weight):
    if layer not in weights or weight not in weights[layer]:
        raise ConversionError("%s: missing weight '%s/%s' (is this a Keras MobileNet v1 model?)"
                              % (source, layer, weight))
    return weights[layer][weight]


def check_architecture(source, layers, resolution):
    """Checks what the weights alone cannot show: the activation, the padding, no biases."""
    activation = "relu6"
    for name, layer in layers.items():
        config = layer["config"]
        if layer["class_name"] == "ReLU":
            max_value = config.get("max_value")
            if max_value is None:
                activation = "relu"
            elif float(max_value) != 6.0:
                raise ConversionError("%s: layer %s is ReLU with max_value %s; only ReLU and ReLU6 "
                                      "are supported" % (source, name, max_value))
        if layer["class_name"] == "ZeroPadding2D" and config.get("padding") != [[0, 1], [0, 1]]:
            raise ConversionError("%s: layer %s pads %s, expected ((0, 1), (0, 1)) (TensorFlow SAME)"
                                  % (source, name, config.get("padding")))
        if re.fullmatch(r"conv1|conv_dw_\d+|conv_pw_\d+", name) and config.get("use_bias"):
            raise ConversionError("%s: layer %s has a bias; Keras MobileNet's convolutions have none"
                                  % (source, name))
    if resolution is not None and resolution % 2:
        raise ConversionError("%s: input %d x %d is odd: Keras' explicit (0, 1) padding then differs "
                              "from SAME" % (source, resolution, resolution))
    return activation


def convert(source, destination):
    import h5py  # imported here so that --help works without it

    try:
        h5 = h5py.File(source, "r")
    except OSError as error:
        raise ConversionError("%s: cannot open as HDF5 (%s)" % (source, error))
    with h5:
        layers = keras_layers(source, h5)
        weights = read_weights(source, h5)

    epsilon = 1e-3
    if "conv1_bn" in layers:
        epsilon = float(layers["conv1_bn"]["config"].get("epsilon", epsilon))
    resolution = None
    for layer in layers.values():
        if layer["class_name"] == "InputLayer":
            shape = layer["config"].get("batch_input_shape") or [None, None, None, None]
            if len(shape) == 4 and shape[1] is not None and shape[1] == shape[2]:
                resolution = int(shape[1])
    activation = check_architecture(source, layers, resolution)

    stem = take(source, weights, "conv1", "kernel")
    stem_channels = stem.shape[-1]
    blocks = [take(source, weights, "conv_pw_%d" % i, "kernel").shape[-1] for i in range(1, BLOCKS + 1)]
    if "conv_preds" not in weights:
        raise ConversionError("%s: no classifier 'conv_preds' (saved with include_top=False?); the "
                              "weights format needs one" % source)
    num_classes = take(source, weights, "conv_preds", "kernel").shape[-1]
    shapes = expected_shapes(stem_channels, blocks, num_classes)

    tensors = []

    def add(name, array, keras_name):
        tensors.append((name, check_shape(source, "%s (for %s)" % (keras_name, name),
                                          array, shapes[name])))

    def add_bn(ours, keras_layer):
        for p in BN_PARAMETERS:
            add("%s.%s" % (ours, p), take(source, weights, keras_layer, KERAS_BN[p]),
                "%s/%s" % (keras_layer, p))

    add("stem.conv.weight", stem, "conv1/kernel")  # HWIO already
    add_bn("stem.bn", "conv1_bn")
    for i in range(1, BLOCKS + 1):
        depthwise = take(source, weights, "conv_dw_%d" % i, "depthwise_kernel")  # [3, 3, C, 1]
        if depthwise.ndim != 4 or depthwise.shape[3] != 1:
            raise ConversionError("%s: conv_dw_%d/depthwise_kernel has shape %s, expected [3, 3, C, 1]"
                                  % (source, i, list(depthwise.shape)))
        add("dsconv%d.depthwise.weight" % i, depthwise[:, :, :, 0], "conv_dw_%d/depthwise_kernel" % i)
        add_bn("dsconv%d.depthwise_bn" % i, "conv_dw_%d_bn" % i)
        pointwise = take(source, weights, "conv_pw_%d" % i, "kernel")  # [1, 1, Cin, Cout]
        add("dsconv%d.pointwise.weight" % i, pointwise.reshape(pointwise.shape[-2:]),
            "conv_pw_%d/kernel" % i)
        add_bn("dsconv%d.pointwise_bn" % i, "conv_pw_%d_bn" % i)
    head = take(source, weights, "conv_preds", "kernel")  # [1, 1, C, K]
    add("classifier.weight", head.reshape(head.shape[-2:]), "conv_preds/kernel")
    add("classifier.bias", take(source, weights, "conv_preds", "bias"), "conv_preds/bias")

    alpha = stem_channels / STEM_CHANNELS
    metadata = {"format": "mobilenet_v1", "alpha": repr(alpha), "num_classes": str(num_classes),
                "conv_bias": "false", "bn_epsilon": repr(epsilon), "activation": activation,
                "padding": "same", "preprocessing": "tensorflow", "head": "conv1x1",
                "min_depth": "1", "source": "keras"}
    if resolution is not None:
        metadata["resolution"] = str(resolution)
    write_safetensors(destination, tensors, metadata)
    return metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="Keras .h5 model or weights file")
    parser.add_argument("destination", help="output .safetensors file")
    args = parser.parse_args()
    try:
        metadata = convert(args.source, args.destination)
    except ConversionError as error:
        sys.exit("keras_to_safetensors: %s" % error)
    print("wrote %s: alpha %s, %s classes, %s, resolution %s" % (
        args.destination, metadata["alpha"], metadata["num_classes"], metadata["activation"],
        metadata.get("resolution", "unknown")))


if __name__ == "__main__":
    main()
