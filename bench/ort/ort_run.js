// SPDX-License-Identifier: MIT
// Runs an ONNX model from bench/quant/tflite_to_onnx.py on raw tensors, for checking a
// conversion against TFLite's outputs (bench/quant/check_onnx.sh):
//   node bench/ort/ort_run.js MODEL.onnx uint8|int8 RESOLUTION OUT.bin IN.bin...
// Each IN.bin is one NHWC R x R x 3 image in the model's input type (no header); OUT.bin gets
// the raw outputs, concatenated in input order. One thread, so the bytes do not depend on it.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, type, resolution, out, ...inputs] = process.argv.slice(2);
  const r = +resolution;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const chunks = [];
  for (const file of inputs) {
    const bytes = fs.readFileSync(file);
    if (bytes.length !== r * r * 3) throw new Error(`${file}: ${bytes.length} bytes; expected ${r * r * 3}`);
    const data = type === 'int8' ? new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)
                                 : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    const result = await session.run({input: new ort.Tensor(type, data, [1, r, r, 3])});
    const o = result[session.outputNames[0]].data;
    chunks.push(Buffer.from(o.buffer, o.byteOffset, o.byteLength));
  }
  fs.writeFileSync(out, Buffer.concat(chunks));
}
main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
