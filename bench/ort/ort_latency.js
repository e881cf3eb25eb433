// SPDX-License-Identifier: MIT
// ONNX Runtime's side of scripts/bench-ort.sh, through onnxruntime-node (npm; the package
// carries libonnxruntime for linux x64):
//   node bench/ort/ort_latency.js MODEL.onnx RESOLUTION THREADS BATCH RUNS [float32|uint8|int8]
// float32 (default) feeds NCHW float images (bench/ort/export_onnx.py); uint8 and int8 feed NHWC
// images in that type (the quantized models of bench/quant/tflite_to_onnx.py).
// Prints the median and fastest wall ms of session.run over RUNS runs after 20 warm-up runs,
// timed as bench/ort/ours_latency.cpp times ours. intraOpNumThreads counts the calling thread,
// as PlanOptions::threads does.
const ort = require('onnxruntime-node');

async function main() {
  const [model, resolution, threads, batch, runs] = process.argv.slice(2, 7).map((a, i) => (i ? +a : a));
  const type = process.argv[7] || 'float32';
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential'});
  const count = batch * 3 * resolution * resolution;
  const feeds = {};
  if (type === 'float32') {
    const data = new Float32Array(count).map(() => Math.random() * 2 - 1);
    feeds[session.inputNames[0]] = new ort.Tensor('float32', data, [batch, 3, resolution, resolution]);
  } else if (type === 'uint8' || type === 'int8') {
    const data = (type === 'uint8' ? new Uint8Array(count) : new Int8Array(count))
                     .map(() => Math.floor(Math.random() * 256) - (type === 'int8' ? 128 : 0));
    feeds[session.inputNames[0]] = new ort.Tensor(type, data, [batch, resolution, resolution, 3]);
  } else {
    throw new Error(`input type ${type}: expected float32, uint8 or int8`);
  }
  for (let i = 0; i < 20; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`ort ${ort.env.versions.common}${type === 'float32' ? '' : ' ' + type} threads ${threads} batch ${batch}: ` +
              `median ${times[times.length >> 1].toFixed(3)} ms, fastest ${times[0].toFixed(3)} ms`);
}
main();
