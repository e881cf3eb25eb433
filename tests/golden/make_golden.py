# SPDX-License-Identifier: MIT
"""Generate golden reference data for the mobilenet C++ library.

Builds MobileNetV1 (alpha 0.25, 16 classes) in PyTorch with random weights
and realistic BatchNorm statistics, then writes weights, inputs and float64
reference outputs as safetensors files into tests/golden/data/.

Run with Debian's interpreter (needs python3-torch and python3-numpy):

    /usr/bin/python3 tests/golden/make_golden.py

The output is deterministic: running it twice gives byte-identical files.
The safetensors format is written by hand (no `safetensors` package).
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ALPHA = 0.25
ALPHA_STR = "0.25"
NUM_CLASSES = 16
BN_EPS = 1e-3
BN_EPS_STR = "0.001"
BATCH = 2

# (stride, output channels before alpha) for dsconv1..dsconv13
DS_SPEC = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
           (1, 512), (1, 512), (1, 512), (1, 512), (1, 512),
           (2, 1024), (1, 1024)]

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

CASES = [
    # name, weights set, resolution, activation, padding
    ("same_relu6_nobias", "nobias", 64, "relu6", "same"),
    ("symmetric_relu_nobias", "nobias", 67, "relu", "symmetric"),
    ("same_relu_bias", "bias", 67, "relu", "same"),
    ("symmetric_relu6_bias", "bias", 64, "relu6", "symmetric"),
]


def ch(n):
    """TF-slim channel rule."""
    return max(int(n * ALPHA), 8)


# ---------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------

def same_pads(size, stride, k=3):
    """TensorFlow SAME padding for one spatial dim: (before, after)."""
    out = -(-size // stride)  # ceil
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def same_pads_tf_doc(size, stride, k=3):
    """Independent formulation (as in the TensorFlow documentation)."""
    if size % stride == 0:
        total = max(k - stride, 0)
    else:
        total = max(k - (size % stride), 0)
    return total // 2, total - total // 2


def act(x, activation):
    if activation == "relu":
        return F.relu(x)
    if activation == "relu6":
        return torch.clamp(x, 0.0, 6.0)
    raise ValueError(activation)


# ---------------------------------------------------------------------------
# Model (PyTorch layout)
# ---------------------------------------------------------------------------

class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, groups, bias):
        super().__init__()
        self.k = k
        self.stride = stride
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=0,
                              groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=None)

    def forward(self, x, padding, activation, stats=None):
        if self.k == 3:
            if padding == "same":
                ph = same_pads(x.shape[2], self.stride)
                pw = same_pads(x.shape[3], self.stride)
                x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
            elif padding == "symmetric":
                x = F.pad(x, (1, 1, 1, 1))
            else:
                raise ValueError(padding)
        y = self.bn(self.conv(x))
        if stats is not None:
            stats["total"] += y.numel()
            stats["above6"] += int((y > 6.0).sum())
        return act(y, activation)


class MobileNetV1(nn.Module):
    def __init__(self, bias):
        super().__init__()
        c0 = ch(32)
        self.stem = ConvBN(3, c0, 3, 2, 1, bias)
        blocks = []
        cin = c0
        for stride, n in DS_SPEC:
            cout = ch(n)
            blocks.append(nn.ModuleDict({
                "dw": ConvBN(cin, cin, 3, stride, cin, bias),
                "pw": ConvBN(cin, cout, 1, 1, 1, bias),
            }))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.classifier = nn.Linear(cin, NUM_CLASSES, bias=True)
        self.c_last = cin

    def features(self, x, padding, activation, stats=None, sizes=None):
        x = self.stem(x, padding, activation, stats)
        if sizes is not None:
            sizes.append(tuple(x.shape[2:]))
        for b in self.blocks:
            x = b["dw"](x, padding, activation, stats)
            x = b["pw"](x, padding, activation, stats)
            if sizes is not None:
                sizes.append(tuple(x.shape[2:]))
        return x.mean(dim=(2, 3))

    def forward(self, x, padding, activation, stats=None, sizes=None):
        return self.classifier(self.features(x, padding, activation, stats, sizes))

    def conv_bns(self):
        yield "stem", self.stem
        for i, b in enumerate(self.blocks, 1):
            yield "dsconv%d.depthwise" % i, b["dw"]
            yield "dsconv%d.pointwise" % i, b["pw"]


def build_weights(bias, seed):
    """Random model with calibrated, perturbed BN statistics."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # default init of nn layers
    model = MobileNetV1(bias).double()

    with torch.no_grad():
        for _, m in model.conv_bns():
            c = m.conv.out_channels
            if bias:
                m.conv.bias.copy_((torch.rand(c, generator=g, dtype=torch.float64) - 0.5))
            # gamma in [0.5, 1.5], beta ~ N(0, 0.2^2)
            m.bn.weight.copy_(0.5 + torch.rand(c, generator=g, dtype=torch.float64))
            m.bn.bias.copy_(0.2 * torch.randn(c, generator=g, dtype=torch.float64))
            # about 1/8 of channels get a large gain and positive shift so that
            # some activations exceed 6 (relu and relu6 then differ)
            big = torch.randperm(c, generator=g)[: max(1, c // 8)]
            m.bn.weight[big] = 2.5 + 1.5 * torch.rand(len(big), generator=g, dtype=torch.float64)
            m.bn.bias[big] = 1.0 + 1.5 * torch.rand(len(big), generator=g, dtype=torch.float64)

        # Real BN statistics: train mode, cumulative average (momentum=None).
        model.train()
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
        calib = [("same", 64, "relu6"), ("symmetric", 67, "relu"),
                 ("same", 67, "relu"), ("symmetric", 64, "relu6")]
        for padding, r, a in calib:
            x = 2 * torch.rand(8, 3, r, r, generator=g, dtype=torch.float64) - 1
            model(x, padding, a)
        model.eval()

        # Perturb the statistics a little so nothing is exactly "calibrated".
        for _, m in model.conv_bns():
            c = m.bn.num_features
            sd = torch.sqrt(m.bn.running_var)
            m.bn.running_mean += 0.1 * sd * torch.randn(c, generator=g, dtype=torch.float64)
            m.bn.running_var *= torch.exp(0.2 * torch.randn(c, generator=g, dtype=torch.float64))

        # Classifier: scale so logits have a std across classes of about 3.
        feats = []
        for padding, r, a in calib:
            x = 2 * torch.rand(8, 3, r, r, generator=g, dtype=torch.float64) - 1
            feats.append(model.features(x, padding, a))
        feats = torch.cat(feats)
        model.classifier.bias.zero_()
        lg = model.classifier(feats)
        model.classifier.weight *= 3.0 / float(lg.std(dim=1).mean())
        model.classifier.bias.copy_(torch.rand(NUM_CLASSES, generator=g, dtype=torch.float64) * 2 - 1)

        # Round every parameter / buffer to float32 values (stored as F32);
        # the model stays float64 for the reference computation.
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.float().double())
    return model


def export_weights(model, bias):
    """Torch layout -> our layout (dict name -> float32 numpy array)."""
    out = {}

    def bn(prefix, m):
        out[prefix + ".gamma"] = m.weight
        out[prefix + ".beta"] = m.bias
        out[prefix + ".moving_mean"] = m.running_mean
        out[prefix + ".moving_variance"] = m.running_var

    s = model.stem
    out["stem.conv.weight"] = s.conv.weight.permute(2, 3, 1, 0)        # HWIO
    if bias:
        out["stem.conv.bias"] = s.conv.bias
    bn("stem.bn", s.bn)
    for i, b in enumerate(model.blocks, 1):
        dw, pw = b["dw"], b["pw"]
        out["dsconv%d.depthwise.weight" % i] = dw.conv.weight[:, 0].permute(1, 2, 0)  # [kh,kw,C]
        if bias:
            out["dsconv%d.depthwise.bias" % i] = dw.conv.bias
        bn("dsconv%d.depthwise_bn" % i, dw.bn)
        out["dsconv%d.pointwise.weight" % i] = pw.conv.weight[:, :, 0, 0].t()        # [Cin,Cout]
        if bias:
            out["dsconv%d.pointwise.bias" % i] = pw.conv.bias
        bn("dsconv%d.pointwise_bn" % i, pw.bn)
    out["classifier.weight"] = model.classifier.weight.t()                          # [C,K]
    out["classifier.bias"] = model.classifier.bias
    res = {}
    for k, v in out.items():
        a = v.detach().double().contiguous().numpy()
        f = a.astype(np.float32)
        assert np.array_equal(f.astype(np.float64), a), k  # already f32-exact
        res[k] = np.ascontiguousarray(f)
    return res


# ---------------------------------------------------------------------------
# safetensors writer / reader
# ---------------------------------------------------------------------------

DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}
NP_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def write_safetensors(path, tensors, metadata):
    names = sorted(tensors)
    header = {"__metadata__": {k: metadata[k] for k in sorted(metadata)}}
    blobs = []
    off = 0
    for n in names:
        a = tensors[n]
        dt = DTYPES[a.dtype]
        raw = np.ascontiguousarray(a, dtype=NP_DTYPES[dt]).tobytes()
        header[n] = {"dtype": dt, "shape": [int(d) for d in a.shape],
                     "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hb += b" " * ((-len(hb)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    expect = 0
    for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
        h = header[name]
        b, e = h["data_offsets"]
        assert b == expect, (path, name)
        dt = NP_DTYPES[h["dtype"]]
        count = int(np.prod(h["shape"])) if h["shape"] else 1
        assert e - b == count * dt.itemsize
        out[name] = np.frombuffer(body[b:e], dtype=dt).reshape(h["shape"])
        expect = e
    assert expect == len(body), path
    return out, meta


# ---------------------------------------------------------------------------
# Independent NumPy forward pass in NHWC from our layout
# ---------------------------------------------------------------------------

def np_forward(w, x, padding, activation, conv_bias):
    """Reference forward in float64 NumPy, NHWC, using explicit pad tables."""
    def pad_of(size, stride):
        if padding == "same":
            return same_pads_tf_doc(size, stride)
        return (1, 1)

    def bn_act(y, p):
        y = (w[p + ".gamma"] * (y - w[p + ".moving_mean"])
             / np.sqrt(w[p + ".moving_variance"] + BN_EPS) + w[p + ".beta"])
        y = np.maximum(y, 0.0)
        return np.minimum(y, 6.0) if activation == "relu6" else y

    def conv3x3(x, k, stride, depthwise):
        n, h, wd, c = x.shape
        ph, pw = pad_of(h, stride), pad_of(wd, stride)
        xp = np.pad(x, ((0, 0), ph, pw, (0, 0)))
        oh = (h + ph[0] + ph[1] - 3) // stride + 1
        ow = (wd + pw[0] + pw[1] - 3) // stride + 1
        acc = 0.0
        for i in range(3):
            for j in range(3):
                patch = xp[:, i:i + stride * (oh - 1) + 1:stride,
                           j:j + stride * (ow - 1) + 1:stride, :]
                acc = acc + (patch * k[i, j] if depthwise else patch @ k[i, j])
        return acc

    w = {k: v.astype(np.float64) for k, v in w.items()}
    y = conv3x3(x.astype(np.float64), w["stem.conv.weight"], 2, False)
    if conv_bias:
        y = y + w["stem.conv.bias"]
    y = bn_act(y, "stem.bn")
    for i, (s, _) in enumerate(DS_SPEC, 1):
        p = "dsconv%d." % i
        y = conv3x3(y, w[p + "depthwise.weight"], s, True)
        if conv_bias:
            y = y + w[p + "depthwise.bias"]
        y = bn_act(y, p + "depthwise_bn")
        y = y @ w[p + "pointwise.weight"]
        if conv_bias:
            y = y + w[p + "pointwise.bias"]
        y = bn_act(y, p + "pointwise_bn")
    return y.mean(axis=(1, 2)) @ w["classifier.weight"] + w["classifier.bias"]


# ---------------------------------------------------------------------------

def check_padding():
    table = [((64, 2), (0, 1)), ((67, 2), (1, 1)), ((32, 1), (1, 1)),
             ((34, 2), (0, 1)), ((17, 2), (1, 1)), ((2, 2), (0, 1)),
             ((3, 2), (1, 1)), ((5, 1), (1, 1))]
    for (size, s), pads in table:
        assert same_pads(size, s) == pads, (size, s)
        assert same_pads_tf_doc(size, s) == pads, (size, s)
    for size in range(1, 200):
        for s in (1, 2):
            assert same_pads(size, s) == same_pads_tf_doc(size, s)
    # One layer against an explicit pad table: stem on a 64x64 input.
    g = torch.Generator().manual_seed(7)
    m = ConvBN(3, 8, 3, 2, 1, False).double().eval()
    x = torch.rand(1, 3, 64, 64, generator=g, dtype=torch.float64)
    with torch.no_grad():
        a = m(x, "same", "relu")
        b = F.relu(m.bn(m.conv(F.pad(x, (0, 1, 0, 1)))))
        assert a.shape[2:] == (32, 32) and torch.equal(a, b)
        x = torch.rand(1, 3, 67, 67, generator=g, dtype=torch.float64)
        a = m(x, "same", "relu")
        b = F.relu(m.bn(m.conv(F.pad(x, (1, 1, 1, 1)))))
        assert a.shape[2:] == (34, 34) and torch.equal(a, b)


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    check_padding()
    os.makedirs(OUT_DIR, exist_ok=True)

    models, weights = {}, {}
    for wset, seed in (("nobias", 1001), ("bias", 2002)):
        bias = wset == "bias"
        models[wset] = build_weights(bias, seed)
        weights[wset] = export_weights(models[wset], bias)
        fname = "weights_%s.safetensors" % wset
        meta = {"format": "mobilenet_v1", "alpha": ALPHA_STR,
                "num_classes": str(NUM_CLASSES),
                "conv_bias": "true" if bias else "false",
                "bn_epsilon": BN_EPS_STR}
        path = os.path.join(OUT_DIR, fname)
        write_safetensors(path, weights[wset], meta)
        back, bmeta = read_safetensors(path)
        assert bmeta == meta and sorted(back) == sorted(weights[wset])
        for k in back:
            assert back[k].dtype == np.float32
            assert np.array_equal(back[k], weights[wset][k]), k
        nparam = sum(v.size for v in back.values())
        print("%s: %d tensors, %d values, %d bytes"
              % (fname, len(back), nparam, os.path.getsize(path)))

    for ci, (name, wset, res, activation, padding) in enumerate(CASES):
        model = models[wset]
        bias = wset == "bias"
        g = torch.Generator().manual_seed(5000 + ci)
        x = (2 * torch.rand(BATCH, res, res, 3, generator=g, dtype=torch.float64) - 1)
        x = x.float().double()  # float32-exact input
        xn = x.permute(0, 3, 1, 2).contiguous()  # NCHW for torch
        stats = {"total": 0, "above6": 0}
        sizes = []
        with torch.no_grad():
            logits = model(xn, padding, activation, stats, sizes)
            probs = torch.softmax(logits, dim=1)
            other_act = "relu" if activation == "relu6" else "relu6"
            other_pad = "symmetric" if padding == "same" else "same"
            d_act = float((model(xn, padding, other_act) - logits).abs().max())
            d_pad = float((model(xn, other_pad, activation) - logits).abs().max())
        logits_np = logits.numpy().copy()
        probs_np = probs.numpy().copy()

        # Independent NumPy NHWC forward from the exported (our-layout) weights.
        ref = np_forward(weights[wset], x.numpy(), padding, activation, bias)
        err = np.abs(ref - logits_np).max()
        assert err < 1e-9, (name, err)

        lstd = logits_np.std(axis=1)
        pmax = probs_np.max(axis=1)
        assert np.all(lstd > 0.5) and np.all(lstd < 20), lstd
        assert np.all(pmax < 0.999), pmax
        assert d_act > 1e-3 and d_pad > 1e-3, (d_act, d_pad)
        assert np.allclose(probs_np.sum(axis=1), 1.0)

        fname = "case_%s.safetensors" % name
        meta = {"weights": "weights_%s.safetensors" % wset, "alpha": ALPHA_STR,
                "resolution": str(res), "num_classes": str(NUM_CLASSES),
                "activation": activation, "padding": padding,
                "conv_bias": "true" if bias else "false",
                "bn_epsilon": BN_EPS_STR}
        tensors = {"input": x.numpy().astype(np.float32),
                   "logits": logits_np.astype(np.float64),
                   "probabilities": probs_np.astype(np.float64)}
        path = os.path.join(OUT_DIR, fname)
        write_safetensors(path, tensors, meta)
        back, bmeta = read_safetensors(path)
        assert bmeta == meta and sorted(back) == sorted(tensors)
        for k in back:
            assert back[k].dtype == tensors[k].dtype
            assert np.array_equal(back[k], tensors[k]), k

        print("%s: R=%d %s/%s/%s  stem %dx%d -> final map %dx%d  (%d bytes)"
              % (name, res, padding, activation, wset, sizes[0][0], sizes[0][1],
                 sizes[-1][0], sizes[-1][1], os.path.getsize(path)))
        print("    logits std/class per sample %s  range [%.3f, %.3f]"
              % (np.array2string(lstd, precision=3), logits_np.min(), logits_np.max()))
        print("    max prob per sample %s  argmax %s"
              % (np.array2string(pmax, precision=3), probs_np.argmax(axis=1).tolist()))
        print("    BN outputs > 6: %.2f%%  |dlogits| if %s: %.3g, if %s padding: %.3g"
              "  numpy-NHWC check err %.1e"
              % (100.0 * stats["above6"] / stats["total"], other_act, d_act,
                 other_pad, d_pad, err))

    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print("total size of %s: %d bytes" % (OUT_DIR, total))
    assert total < 3 * 1024 * 1024
    return 0


if __name__ == "__main__":
    sys.exit(main())
