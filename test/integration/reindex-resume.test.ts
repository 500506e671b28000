import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { EncoderConsumer, documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { ReindexQueue } from '../../consumers/reindex/index.ts';
import { RedisWriteFences } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { getModelSpec } from '../../topology/index.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact } from '../support/corpus.ts';
import { startRoleProcess } from '../support/role-process.ts';

// kill -9 the re-index worker mid-rebuild and start another: the job resumes, the live index is
// untouched until the swap, and the new collection ends up complete.
describe('re-index worker crash', () => {
  let h: Harness;
  let fp32: OnnxEncoder;
  let int8: OnnxEncoder;
  let live: EncoderConsumer;
  let redis: Redis;
  let queue: ReindexQueue;
  const children: ChildProcess[] = [];

  before(async () => {
    h = await createHarness({ env: { SEARCHBUS_REINDEX_LOCK_DURATION_MS: '3000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200' } });
    [fp32, int8] = await Promise.all([loadEncoder(getModelSpec('all-minilm-l6-v2')), loadEncoder(getModelSpec('all-minilm-l6-v2-q'))]);
    redis = createRedis(h.services.redis, `test-${h.namespace}`);
    live = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: (modelId) => Promise.resolve(documentEncoder(modelId === int8.spec.id ? int8 : fp32)),
      fences: new RedisWriteFences(redis, h.topology),
    });
    await live.start();
    queue = new ReindexQueue({ connection: redis, redis, topology: h.topology, config: h.config });
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await queue?.queue.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    redis?.disconnect();
    await live?.close();
    await Promise.all([fp32?.close(), int8?.close()]);
    await h?.close();
  });

  function startWorkerProcess(): ChildProcess {
    const child = startRoleProcess(h, 'reindex');
    children.push(child);
    return child;
  }

  it('resumes the rebuild after kill -9 without touching the live index', async () => {
    const docs = await readScifact(200);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await producer.upsert(docs);
    await producer.close();
    const chunks = docs.reduce((s, d) => s + fp32.chunk(documentText(d)).length, 0);
    const alias = h.topology.qdrant.alias;
    await waitFor(
      'the live index',
      async () => ((await h.qdrant.count(alias, { exact: true })).count === chunks ? true : undefined),
      300_000,
      250,
    );
    const liveCollection = async (): Promise<string | undefined> =>
      (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === alias)?.collection_name;
    const original = await liveCollection();

    const first = startWorkerProcess();
    const { jobId } = await queue.request({ modelId: 'all-minilm-l6-v2-q' });
    const progress = await waitFor(
      'the rebuild to replay part of the topic',
      async () => {
        const p = (await queue.get(jobId))?.progress;
        return p && p.phase === 'replaying' && p.processed > 20 ? p : undefined;
      },
      300_000,
      50,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    const partial = (await h.qdrant.count(progress.target, { exact: true })).count;
    process.stderr.write(
      `killed the worker with ${progress.processed}/${progress.total} messages replayed (${partial} points in ${progress.target})\n`,
    );
    assert.ok(progress.processed < progress.total, 'the kill must land mid-rebuild');
    assert.equal(await liveCollection(), original, 'the live alias is untouched by a dead rebuild');

    startWorkerProcess();
    const done = await waitFor(
      'the resumed rebuild to complete',
      async () => {
        const j = await queue.get(jobId);
        if (j?.state === 'failed') throw new Error(`rebuild failed: ${j.failedReason ?? ''}`);
        return j?.state === 'completed' ? j : undefined;
      },
      300_000,
      250,
    );
    assert.equal(done.result?.target, progress.target, 'the same target collection was continued');
    const { logs } = await queue.queue.getJobLogs(jobId);
    assert.ok(
      logs.some((l) => l.startsWith(`resuming ${progress.target}`)),
      `job log shows a resume: ${logs.join(' | ')}`,
    );
    assert.equal(await liveCollection(), progress.target);

    const byDoc = new Map<string, number[]>();
    for (const p of await allPoints(h.qdrant, progress.target)) {
      assert.equal(p.payload.model, 'all-minilm-l6-v2-q');
      const id = String(p.payload.doc_id);
      byDoc.set(id, [...(byDoc.get(id) ?? []), Number(p.payload.chunk)]);
    }
    assert.equal(byDoc.size, docs.length, 'no document lost');
    for (const d of docs) {
      const n = int8.chunk(documentText(d)).length;
      assert.deepEqual(
        (byDoc.get(d.id) ?? []).sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
        `chunks of ${d.id}`,
      );
    }
  });
});
