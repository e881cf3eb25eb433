# SPDX-License-Identifier: MIT
"""Checks tflite_to_onnx.py against real TFLite: converts every quantized model of the golden
set, runs ONNX Runtime (bench/ort/ort_run.js) on the golden inputs and counts the output bytes
that differ from TFLite's builtin kernels (the reference) and from TFLite's XNNPACK path.

    NODE_PATH=build/ort/node_modules /usr/bin/python3 bench/quant/check_onnx.py [DATA_DIR] [OUT_DIR]

DATA_DIR defaults to ../shared/data (models/ and tflite-golden/), OUT_DIR to build/quant.
ONNX Runtime requantizes in float32: expect differences of one step in a few percent of the
bytes with the file's weights; the s8 variant has other weights and differs more. Exits 1 if a
conversion or a run fails, or if a file-weights output is more than 2 steps from both TFLite
paths somewhere (TFLite's two paths differ by up to 24 steps on the backbone's features).
"""

import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "build", "quant")
    golden = os.path.join(data, "tflite-golden")
    os.makedirs(out, exist_ok=True)
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(golden, "manifest.tsv"))]
    header, rows = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    models = sorted({r["model"] for r in rows if r["input_dtype"] == "uint8"})
    print("| model | weights | case | bytes | differ from builtin | max | differ from xnnpack | max |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    ok = True
    for model in models:
        tflite = os.path.join(data, "models", model + ".tflite")
        cases = [r for r in rows if r["model"] == model and r["kernels"] == "builtin"]
        resolution = int(cases[0]["input_shape"].split("x")[1])
        for weights in ("file", "s8"):
            onnx_path = os.path.join(out, f"{model}_{weights}.onnx")
            subprocess.run([sys.executable, os.path.join(HERE, "tflite_to_onnx.py"), tflite, onnx_path,
                            "--weights", weights], check=True, stdout=subprocess.DEVNULL)
            for case in cases:
                result = os.path.join(out, f"{model}__{case['case']}__ort_{weights}.u8.bin")
                subprocess.run(["node", os.path.join(ROOT, "bench", "ort", "ort_run.js"), onnx_path, "uint8",
                                str(resolution), result, os.path.join(golden, case["input_file"])], check=True)
                got = np.fromfile(result, np.uint8).astype(int)
                line = f"| {model} | {weights} | {case['case']} | {got.size} |"
                nearest = []
                for kernels in ("builtin", "xnnpack"):
                    ref = np.fromfile(os.path.join(golden, case["output_file"].replace("__builtin.", f"__{kernels}.")),
                                      np.uint8).astype(int)
                    diff = np.abs(got - ref)
                    line += f" {int((diff > 0).sum())} ({100.0 * (diff > 0).mean():.1f}%) | {int(diff.max())} |"
                    nearest.append(int(diff.max()) if got.size == ref.size else 1 << 30)
                if weights == "file" and min(nearest) > 2:
                    ok = False
                print(line, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
