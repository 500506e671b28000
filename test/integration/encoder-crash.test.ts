import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { documentText } from '../../consumers/encoder/index.ts';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact } from '../support/corpus.ts';
import { startRoleProcess } from '../support/role-process.ts';

// kill -9 an encoder process mid-stream, start another: nothing lost, nothing duplicated.
describe('encoder crash', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  const children: ChildProcess[] = [];

  before(async () => {
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await encoder?.close();
    await h?.close();
  });

  function startEncoderProcess(): ChildProcess {
    const child = startRoleProcess(h, 'encoder', { SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '16' });
    children.push(child);
    return child;
  }

  it('loses no document and duplicates no point after kill -9 and restart', async () => {
    const docs = await readScifact(200);
    const expected = new Map(docs.map((d) => [d.id, encoder.chunk(documentText(d)).length]));
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await producer.upsert(docs);
    await producer.close();

    const first = startEncoderProcess();
    const alias = h.topology.qdrant.alias;
    const partial = await waitFor(
      'the first encoder to write some points',
      async () => {
        const { count } = await h.qdrant.count(alias, { exact: true });
        return count >= 50 ? count : undefined;
      },
      180_000,
      100,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    const atKill = (await h.qdrant.count(alias, { exact: true })).count;
    process.stderr.write(`killed the encoder with ${atKill}/${total} points written (first seen ${partial})\n`);
    assert.ok(atKill < total, 'the kill must land mid-stream for this test to mean anything');

    startEncoderProcess();
    await waitFor(
      'every chunk indexed after the restart',
      async () => {
        const { count } = await h.qdrant.count(alias, { exact: true });
        return count >= total ? true : undefined;
      },
      600_000,
      250,
    );

    const byDoc = new Map<string, number[]>();
    for (const p of await allPoints(h.qdrant, alias)) {
      const id = String(p.payload.doc_id);
      byDoc.set(id, [...(byDoc.get(id) ?? []), Number(p.payload.chunk)]);
    }
    assert.equal(byDoc.size, docs.length, 'no document lost');
    for (const [id, chunks] of expected) {
      assert.deepEqual(
        (byDoc.get(id) ?? []).sort((a, b) => a - b),
        Array.from({ length: chunks }, (_, i) => i),
        `chunks of ${id}`,
      );
    }
  });

  it('stops gracefully on SIGTERM: finishes its batch, commits, exits 0', async () => {
    for (const running of children.filter((c) => c.exitCode === null && c.signalCode === null)) {
      running.kill('SIGTERM');
      await once(running, 'exit');
    }
    const docs = (await readScifact(460)).slice(400);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const child = startEncoderProcess();
    await producer.upsert(docs.map((d) => ({ ...d, id: `term-${d.id}` })));
    await producer.close();
    const alias = h.topology.qdrant.alias;
    await waitFor(
      'the encoder to write some points',
      async () => {
        const { count } = await h.qdrant.count(alias, {
          exact: true,
          filter: { must: [{ key: 'doc_id', match: { any: docs.map((d) => `term-${d.id}`) } }] },
        });
        return count > 0 ? true : undefined;
      },
      180_000,
      100,
    );
    const started = Date.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, 'exit code after SIGTERM');
    assert.ok(Date.now() - started < 30_000, 'it stops without waiting for a timeout');
    // Everything it committed is written: the documents before the group's committed offsets all have points.
    const [offsets] = await h.admin.fetchOffsets({ groupId: h.topology.groups.encoder, topics: [h.topology.topics.ingest] });
    const committed = (offsets?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    const { count: written } = await h.qdrant.count(alias, { exact: true, filter: { must: [{ key: 'chunk', match: { value: 0 } }] } });
    assert.ok(written >= committed, `committed ${committed} messages, ${written} documents written`);
  });
});
