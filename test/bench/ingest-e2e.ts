// End-to-end ingest figures on real services and the real model:
//  1. a whole BEIR corpus (default: the test fixture's 1,000 SciFact abstracts; the README's figures
//     are for the full 5,183, --dataset <full BEIR SciFact>): publish -> every chunk searchable, in docs/s;
//  2. freshness: one document at a time, publish -> retrievable from Qdrant, p50/p99 in ms.
// Run: node --import tsx test/bench/ingest-e2e.ts [--dataset <beir-dir>] [--docs N] [--fresh N]
// Services come from KAFKA_BROKERS/QDRANT_URL, or are started locally for the run.
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { EncoderConsumer, documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { DEFAULT_TENANT, pointId } from '../../topology/index.ts';
import { createHarness } from '../support/harness.ts';
import { readScifact, SCIFACT_DIR } from '../support/corpus.ts';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: SCIFACT_DIR },
    docs: { type: 'string', default: 'all' },
    fresh: { type: 'string', default: '100' },
  },
});
const docCount = values.docs === 'all' ? Infinity : Number(values.docs);
const freshCount = Number(values.fresh);

const h = await createHarness({ need: ['kafka', 'qdrant'] });
const encoder = await loadEncoder(h.config.model);
const consumer = new EncoderConsumer({
  kafka: h.kafka,
  qdrant: h.qdrant,
  topology: h.topology,
  config: h.config,
  encoder: () => Promise.resolve(documentEncoder(encoder)),
});
const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
try {
  await consumer.start();
  const docs = await readScifact(docCount, values.dataset);
  const chunks = docs.reduce((sum, d) => sum + encoder.chunk(documentText(d)).length, 0);
  const alias = h.topology.qdrant.alias;

  const started = performance.now();
  await producer.upsert(docs);
  const published = performance.now();
  let lastReport = started;
  for (;;) {
    const { count } = await h.qdrant.count(alias, { exact: true });
    if (count >= chunks) break;
    if (performance.now() - lastReport > 15_000) {
      lastReport = performance.now();
      process.stderr.write(`  ${count}/${chunks} chunks after ${((lastReport - started) / 1000).toFixed(0)} s\n`);
    }
    await delay(100);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `e2e ingest: ${docs.length} docs (${chunks} chunks) publish->searchable in ${seconds.toFixed(1)} s = ${(docs.length / seconds).toFixed(1)} docs/s, ${(chunks / seconds).toFixed(1)} chunks/s (publish alone ${((published - started) / 1000).toFixed(2)} s)`,
  );

  const latencies: number[] = [];
  for (let i = 0; i < freshCount; i++) {
    const id = `fresh-${i}`;
    const t0 = performance.now();
    await producer.upsert([
      { id, title: `Freshness probe ${i}`, text: 'A short document published on its own to time how soon it becomes searchable.' },
    ]);
    for (;;) {
      const found = await h.qdrant.retrieve(alias, { ids: [pointId(DEFAULT_TENANT, id, 0)], with_payload: false });
      if (found.length > 0) break;
      await delay(2);
    }
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  console.log(
    `freshness (publish -> retrievable, ${freshCount} sequential docs, maxWaitMs=${h.config.encoder.maxWaitMs}): p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${latencies.at(-1)?.toFixed(0)} ms`,
  );
} finally {
  await producer.close();
  await consumer.close();
  await encoder.close();
  await h.close();
}
