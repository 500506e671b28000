// Resident memory of the encoder as the encoder role holds it: one OnnxEncoder (inference worker
// thread) for the configured model and variant, nothing else in the process. Prints RSS after
// loading (idle) and the peak while embedding whole SciFact documents in the role's batch size.
// Run: node --import tsx test/bench/encoder-rss.ts [--docs N] [--json <path>]
// Settings are the role's own (SEARCHBUS_MODEL, SEARCHBUS_ENCODER_GRAPH, SEARCHBUS_INT8_SOURCE,
// SEARCHBUS_ENCODER_THREADS, SEARCHBUS_ENCODER_MAX_BATCH_SIZE).
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { documentText } from '../../consumers/encoder/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { loadConfig } from '../../topology/index.ts';
import { readScifact } from '../support/corpus.ts';

const { values } = parseArgs({ options: { docs: { type: 'string', default: '512' }, json: { type: 'string' } } });
const config = loadConfig();
const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
const texts = (await readScifact(Number(values.docs))).map(documentText);
const before = process.memoryUsage.rss();
const encoder = await loadEncoder(config.model, {
  intraOpThreads: config.encoder.intraOpThreads,
  overlapTokens: config.encoder.chunkOverlapTokens,
  graph: config.encoder.graph,
  int8Source: config.encoder.int8Source,
});
const idle = process.memoryUsage.rss();
let peak = idle;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
for (let start = 0; start < texts.length; start += config.encoder.maxBatchSize) {
  await encoder.embedChunks(texts.slice(start, start + config.encoder.maxBatchSize));
  peak = Math.max(peak, process.memoryUsage.rss());
}
clearInterval(sampler);
const after = process.memoryUsage.rss();
await encoder.close();
const report = {
  model: config.model.id,
  graph: config.encoder.graph,
  int8_source: config.encoder.int8Source,
  rss_mb: { before_load: mb(before), idle: mb(idle), peak: mb(peak), after: mb(after) },
  docs: texts.length,
  batch: config.encoder.maxBatchSize,
  load_average: loadavg(),
};
console.log(JSON.stringify(report));
if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
