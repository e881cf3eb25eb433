#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden data for io/preprocess.hpp: small synthetic RGB images and what each preprocessing
mode must make of them, computed independently of the C++ code, with the plain bilinear
resize (antialias = false) and with the filtered one (antialias = true, the default).

  TensorFlow mode: NumPy re-implementation of TF-slim's evaluation steps in their order:
    convert_image_dtype (/255), tf.image.central_crop(0.875), tf.image.resize_bilinear
    (align_corners=False, half_pixel_centers=False; float32 arithmetic as TF's CPU kernel),
    then (x - 0.5) * 2.
  MeanStd mode: PyTorch. torchvision's Resize(R / 0.875) rule for the size (shorter side to
    that, longer side truncated in proportion) with torch.nn.functional.interpolate(bilinear,
    align_corners=False, antialias=False) for the pixels, CenterCrop(R), then Normalize with
    the ImageNet mean and std.
  antialias = true, both modes: the same crops and sizes, resized by Pillow's BILINEAR filter
    (float images, one channel at a time, so nothing is rounded to 8 bits).

    /usr/bin/python3 tests/golden/make_preprocess_golden.py   # writes tests/golden/data/preprocess.safetensors
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from mobilenet_weights import write_safetensors  # noqa: E402

# (height, width, resolution): shrink a tall odd image, enlarge a wide one, a larger landscape,
# and a 4x shrink where the filtered resize differs most from plain bilinear.
CASES = [(13, 10, 8), (5, 7, 9), (32, 48, 24), (61, 40, 9)]
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def tf_central_crop(image, fraction):
    h, w = image.shape[:2]
    top = int((h - h * fraction) / 2)
    left = int((w - w * fraction) / 2)
    return image[top:h - top, left:w - left]


def tf_resize_bilinear_legacy(image, size):
    """TF 1.x resize_bilinear, align_corners=False, half_pixel_centers=False."""
    in_h, in_w = image.shape[:2]
    out = np.zeros((size, size, image.shape[2]), dtype=np.float32)
    scale_y = np.float32(in_h) / np.float32(size)
    scale_x = np.float32(in_w) / np.float32(size)
    for y in range(size):
        in_y = np.float32(y) * scale_y
        y0 = int(math.floor(in_y))
        y1 = min(int(math.ceil(in_y)), in_h - 1)
        ly = np.float32(in_y - y0)
        for x in range(size):
            in_x = np.float32(x) * scale_x
            x0 = int(math.floor(in_x))
            x1 = min(int(math.ceil(in_x)), in_w - 1)
            lx = np.float32(in_x - x0)
            top = image[y0, x0] + (image[y0, x1] - image[y0, x0]) * lx
            bottom = image[y1, x0] + (image[y1, x1] - image[y1, x0]) * lx
            out[y, x] = top + (bottom - top) * ly
    return out


def tensorflow_mode(image, resolution):
    x = image.astype(np.float32) / np.float32(255)
    x = tf_resize_bilinear_legacy(tf_central_crop(x, 0.875), resolution)
    return (x - np.float32(0.5)) * np.float32(2)


def torch_mode(image, resolution):
    h, w = image.shape[:2]
    shorter = int(math.floor(resolution / 0.875))
    if h >= w:
        size = (int(shorter * h / w), shorter)
    else:
        size = (shorter, int(shorter * w / h))
    x = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None] / 255
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)
    top = int(round((size[0] - resolution) / 2.0))
    left = int(round((size[1] - resolution) / 2.0))
    x = x[:, :, top:top + resolution, left:left + resolution]
    x = (x - torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)) / \
        torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return x[0].permute(1, 2, 0).numpy()


def pil_resize(image, width, height):
    """Pillow BILINEAR (triangle filter widened when shrinking) on float channels."""
    channels = [np.asarray(Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
                           .resize((width, height), Image.BILINEAR)) for c in range(image.shape[2])]
    return np.stack(channels, axis=2).astype(np.float64)


def tensorflow_mode_antialias(image, resolution):
    x = pil_resize(tf_central_crop(image, 0.875), resolution, resolution)
    return (x / 255 - 0.5) / 0.5


def torch_mode_antialias(image, resolution):
    h, w = image.shape[:2]
    shorter = int(math.floor(resolution / 0.875))
    size = (int(shorter * h / w), shorter) if h >= w else (shorter, int(shorter * w / h))
    x = pil_resize(image, size[1], size[0])
    top = int(round((size[0] - resolution) / 2.0))
    left = int(round((size[1] - resolution) / 2.0))
    x = x[top:top + resolution, left:left + resolution]
    return (x / 255 - MEAN) / STD


def main():
    rng = np.random.default_rng(875)
    tensors = []
    for i, (h, w, r) in enumerate(CASES):
        image = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        tensors.append(("image%d" % i, image.astype(np.float32)))
        tensors.append(("tensorflow%d" % i, tensorflow_mode(image, r)[None]))
        tensors.append(("torch%d" % i, torch_mode(image, r)[None]))
        tensors.append(("tensorflow_antialias%d" % i, tensorflow_mode_antialias(image, r)[None]))
        tensors.append(("torch_antialias%d" % i, torch_mode_antialias(image, r)[None]))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "preprocess.safetensors")
    write_safetensors(path, tensors, {"cases": str(len(CASES)),
                                      "resolutions": ",".join(str(c[2]) for c in CASES)})
    print("wrote", path)


if __name__ == "__main__":
    main()
