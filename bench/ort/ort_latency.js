// SPDX-License-Identifier: MIT
// ONNX Runtime's side of scripts/bench-ort.sh, through onnxruntime-node (npm; the package
// carries libonnxruntime for linux x64):
//   node bench/ort/ort_latency.js MODEL.onnx RESOLUTION THREADS BATCH RUNS [float32|uint8|int8]
// float32 (default) feeds NCHW float images (bench/ort/export_onnx.py); uint8 and int8 feed NHWC
// images in that type (the quantized models of bench/quant/tflite_to_onnx.py).
// Prints the median and fastest wall ms of session.run over RUNS runs after 20 warm-up runs,
// timed as bench/ort/ours_latency.cpp times ours. intraOpNumThreads counts the calling thread,
// as PlanOptions::threads does.
// With TURNS_DIR=DIR and PER_TURN=K in the environment it takes turns with
// `ours_latency ... --turns DIR K`: it times K runs, writes a byte to the FIFO DIR/ours and
// waits for one on DIR/peer; RUNS / K turns, each turn's median printed after the summary.
const ort = require('onnxruntime-node');
const fs = require('fs');

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
  const timeRuns = async (count) => {
    const times = [];
    for (let i = 0; i < count; ++i) {
      const start = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return times;
  };
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const perTurn = +(process.env.PER_TURN || 0);
  let times = [];
  const turnMedians = [];
  if (process.env.TURNS_DIR && perTurn > 0) {
    // Opened in the order ours_latency opens them, so that neither waits for the other.
    const toOurs = fs.openSync(`${process.env.TURNS_DIR}/ours`, 'w');
    const fromOurs = fs.openSync(`${process.env.TURNS_DIR}/peer`, 'r');
    const token = Buffer.alloc(1);
    for (let turn = 0; turn < Math.max(1, Math.floor(runs / perTurn)); ++turn) {
      const turnTimes = await timeRuns(perTurn);
      times = times.concat(turnTimes);
      turnMedians.push(median(turnTimes));
      fs.writeSync(toOurs, token);
      if (fs.readSync(fromOurs, token, 0, 1, null) !== 1) throw new Error(`ours left after ${turn + 1} turns`);
    }
    fs.closeSync(toOurs);
    fs.closeSync(fromOurs);
  } else {
    times = await timeRuns(runs);
  }
  console.log(`ort ${ort.env.versions.common}${type === 'float32' ? '' : ' ' + type} threads ${threads} batch ${batch}: ` +
              `median ${median(times).toFixed(3)} ms, fastest ${Math.min(...times).toFixed(3)} ms`);
  if (turnMedians.length) console.log(`turn medians: ${turnMedians.map((m) => m.toFixed(3)).join(' ')}`);
}
main();
