// Not a test: scripts/bench_onnx.sh runs it. Times ONNX Runtime's CPU provider on the files that
// tests/onnx/bench_inference.cpp exported: median seconds per run at batch 1 and 256, at 1 and 2
// intra-op threads. Prints "ort MODEL THREADS BATCH SECONDS_PER_CALL" per measurement.
'use strict';
const ort = require('onnxruntime-node');

const [dir, budgetArg] = process.argv.slice(2);
const budget = Number(budgetArg || 2);
const models = { mnist_mlp: [1, 28, 28], mnist_cnn: [1, 28, 28], cifar10_cnn: [3, 32, 32] };

async function timeRuns(session, feeds) {
  for (let i = 0; i < 3; ++i) await session.run(feeds);
  const t = [];
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
  while (t.length < 5 || (elapsed() < budget && t.length < 2000)) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

async function main() {
  for (const [name, sample] of Object.entries(models)) {
    for (const threads of [1, 2]) {
      const session = await ort.InferenceSession.create(`${dir}/${name}.onnx`, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
      for (const batch of [1, 256]) {
        const dims = [batch, ...sample];
        const n = dims.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
        const sec = await timeRuns(session, { input: new ort.Tensor('float32', data, dims) });
        process.stdout.write(`ort ${name} ${threads} ${batch} ${sec.toFixed(9)}\n`);
      }
    }
  }
}

main().catch((e) => {
  process.stderr.write(`bench_ort.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
