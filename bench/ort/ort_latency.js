// SPDX-License-Identifier: MIT
// ONNX Runtime's side of scripts/bench-ort.sh, through onnxruntime-node (npm; the package
// carries libonnxruntime for linux x64):
//   node bench/ort/ort_latency.js MODEL.onnx RESOLUTION THREADS BATCH RUNS
// Prints the median and fastest wall ms of session.run over RUNS runs after 20 warm-up runs,
// timed as bench/ort/ours_latency.cpp times ours. intraOpNumThreads counts the calling thread,
// as PlanOptions::threads does.
const ort = require('onnxruntime-node');

async function main() {
  const [model, resolution, threads, batch, runs] = process.argv.slice(2).map((a, i) => (i ? +a : a));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential'});
  const data = new Float32Array(batch * 3 * resolution * resolution).map(() => Math.random() * 2 - 1);
  const feeds = {input: new ort.Tensor('float32', data, [batch, 3, resolution, resolution])};
  for (let i = 0; i < 20; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`ort ${ort.env.versions.common} threads ${threads} batch ${batch}: ` +
              `median ${times[times.length >> 1].toFixed(3)} ms, fastest ${times[0].toFixed(3)} ms`);
}
main();
