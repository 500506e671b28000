// Rebuild figures on real services and real models: a BEIR corpus (default: the test fixture's 1,000
// SciFact abstracts; the README's figures are for the full 5,183, --dataset <full BEIR SciFact>) indexed
// with one model, then rebuilt with another while searches run without pause; prints the rebuild
// time and the count of failed or empty searches during it (which must be 0).
// Run: node --import tsx test/bench/reindex-scifact.ts [--dataset <beir-dir>] [--from all-minilm-l6-v2-q] [--to all-minilm-l6-v2] [--docs N]
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { EncoderConsumer, documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder, mediaEncoderSettings, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { cachedMediaEncoder, loadEncoder } from '../../infra/models/index.ts';
import { ReindexQueue, ReindexWorker } from '../../consumers/reindex/index.ts';
import { RedisWriteFences } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { getModelSpec } from '../../topology/index.ts';
import { createHarness } from '../support/harness.ts';
import { SCIFACT_DIR, readScifact, readScifactQueries } from '../support/corpus.ts';
import { startQueryStack } from '../support/query-stack.ts';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: 'all-minilm-l6-v2-q' },
    to: { type: 'string', default: 'all-minilm-l6-v2' },
    docs: { type: 'string', default: 'all' },
    dataset: { type: 'string', default: SCIFACT_DIR },
  },
});
const h = await createHarness({ env: { SEARCHBUS_MODEL: values.from, SEARCHBUS_REINDEX_GRACE_MS: '5000' } });
const encoders: OnnxEncoder[] = await Promise.all([loadEncoder(getModelSpec(values.from)), loadEncoder(getModelSpec(values.to))]);
const encoderFor = (id: string): Promise<ReturnType<typeof documentEncoder>> => {
  const e = encoders.find((x) => x.spec.id === id);
  return e ? Promise.resolve(documentEncoder(e)) : Promise.reject(new Error(`no encoder ${id}`));
};
const redis = createRedis(h.services.redis, 'bench-reindex');
const live = new EncoderConsumer({
  kafka: h.kafka,
  qdrant: h.qdrant,
  topology: h.topology,
  config: h.config,
  encoder: encoderFor,
  fences: new RedisWriteFences(redis, h.topology),
});
const stack = await startQueryStack(h, encoders, { timeoutMs: 30_000 });
const media = cachedMediaEncoder(mediaEncoderSettings(h.config.media));
const worker = new ReindexWorker({
  connection: redis,
  redis,
  kafka: h.kafka,
  qdrant: h.qdrant,
  topology: h.topology,
  config: h.config,
  encoder: encoderFor,
  media,
});
const queue = new ReindexQueue({ connection: redis, redis, topology: h.topology, config: h.config });
const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
try {
  await live.start();
  await worker.start();
  const docs = await readScifact(values.docs === 'all' ? Infinity : Number(values.docs), values.dataset);
  const chunks = docs.reduce((s, d) => s + (encoders[0]?.chunk(documentText(d)).length ?? 0), 0);
  const t0 = performance.now();
  await producer.upsert(docs);
  while ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count < chunks) await delay(250);
  const ingestSeconds = (performance.now() - t0) / 1000;
  console.log(
    `initial index with ${values.from}: ${docs.length} docs, ${chunks} chunks in ${ingestSeconds.toFixed(1)} s (${(docs.length / ingestSeconds).toFixed(1)} docs/s)`,
  );

  const queries = await readScifactQueries(Infinity, values.dataset);
  const outcome = { searches: 0, errors: 0, empty: 0, byModel: new Map<string, number>(), errorSamples: [] as string[] };
  let running = true;
  const loops = Array.from({ length: 4 }, async (_, k) => {
    for (let i = k; running; i += 4) {
      try {
        const r = await stack.client.search({ text: queries[i % queries.length] ?? 'cancer', topK: 10 });
        outcome.searches++;
        outcome.byModel.set(r.model, (outcome.byModel.get(r.model) ?? 0) + 1);
        if (r.hits.length === 0) outcome.empty++;
      } catch (error) {
        outcome.errors++;
        if (outcome.errorSamples.length < 5) outcome.errorSamples.push((error as Error).message);
      }
    }
  });

  const { jobId } = await queue.request({ modelId: values.to });
  let last = '';
  for (;;) {
    const job = await queue.get(jobId);
    const p = job?.progress;
    const line = p ? `  ${p.phase} ${p.processed}/${p.total} at ${p.messagesPerSecond} msg/s, eta ${p.etaSeconds ?? '-'} s` : '';
    if (line !== last && p && (p.processed % 500 < 20 || p.phase !== 'replaying')) process.stderr.write(`${line}\n`);
    last = line;
    if (job?.state === 'failed') throw new Error(`rebuild failed: ${job.failedReason ?? ''}`);
    if (job?.state === 'completed') {
      const r = job.result;
      console.log(
        `rebuild ${values.from} -> ${values.to}: ${r?.points} points into ${r?.target} in ${r?.seconds.toFixed(1)} s (${(docs.length / (r?.seconds ?? 1)).toFixed(1)} docs/s)`,
      );
      break;
    }
    await delay(1000);
  }
  await delay(3000); // searches keep running across the swap and past the alias cache lifetime
  running = false;
  await Promise.all(loops);
  console.log(
    `searches during the rebuild and swap: ${outcome.searches}, errors ${outcome.errors}, empty results ${outcome.empty}; by model ${JSON.stringify(Object.fromEntries(outcome.byModel))}`,
  );
  if (outcome.errorSamples.length) console.log(`error samples: ${outcome.errorSamples.join(' | ')}`);
} finally {
  await producer.close();
  await queue.queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await worker.close();
  await media.close();
  await stack.close();
  await live.close();
  redis.disconnect();
  await Promise.all(encoders.map((e) => e.close()));
  await h.close();
}
