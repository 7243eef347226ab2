// Runs an exported ONNX model in ONNX Runtime's CPU provider (npm onnxruntime-node) for
// tests/onnx/test_export.cpp: node run_ort.js MANIFEST.json, where the manifest names the model, its
// inputs (name, type float32|float64|int64, dims, a raw little-endian file) and where each output
// goes. Writes each output's raw data to its file and prints the output dims as JSON.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const arrays = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array };

async function main() {
  const m = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(m.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  const feeds = {};
  for (const i of m.inputs) {
    const buf = fs.readFileSync(i.file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    feeds[i.name] = new ort.Tensor(i.type, new arrays[i.type](ab), i.dims);
  }
  const results = await session.run(feeds);
  const dims = {};
  for (const o of m.outputs) {
    const t = results[o.name];
    if (!t) throw new Error(`no output named ${o.name}`);
    fs.writeFileSync(o.file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    dims[o.name] = { type: t.type, dims: t.dims };
  }
  process.stdout.write(JSON.stringify(dims) + '\n');
}

main().catch((e) => {
  process.stderr.write(`run_ort.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
