import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OnnxEncoder } from '../../consumers/embedding/index.ts';
import { startQdrant, type QdrantEndpoint, type ServiceProcess, type StartedService } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import {
  assertSearchableExactlyOnce,
  startFaultStack,
  type FaultStack,
  assertTypedFailures,
  expectedChunks,
  faultDocs,
  publishWithRetry,
  report,
  SearchLoad,
  since,
  waitIndexed,
} from '../support/faults.ts';
import { waitFor, type Harness } from '../support/harness.ts';
import type { QueryStack } from '../support/query-stack.ts';

// The Qdrant server (the local Edge engine) is stopped and started again on the same storage while
// documents are being indexed and searches run. The encoder retries its batch, uncommitted, until
// Qdrant is back; searches meanwhile get `unavailable` replies (or, at worst, time out), never hang.
describe('fault: Qdrant restarted during ingest and searches', () => {
  let qdrant: StartedService<QdrantEndpoint>;
  let server: ServiceProcess;
  let faultStack: FaultStack;
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;

  before(async () => {
    qdrant = await startQdrant({ profile: 'test', env: process.env, log: () => undefined });
    assert.ok(qdrant.process, 'a local Qdrant process');
    server = qdrant.process;
    faultStack = await startFaultStack({
      own: { qdrant: qdrant.endpoint },
      env: { SEARCHBUS_MAX_RETRY_DELAY_MS: '500', SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '16' },
      withEncoder: true,
    });
    ({ h, encoder, stack } = faultStack);
  });

  after(async () => {
    await faultStack?.close();
    await qdrant?.close();
  });

  it('indexes everything exactly once and answers every search or replies unavailable', async () => {
    const docs = faultDocs('qrestart', 300);
    const expected = expectedChunks(encoder, docs);
    const retries = (): Promise<number> => faultStack.metrics.value('searchbus_retries_total', { role: 'encoder' });
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const load = new SearchLoad(stack.client, { concurrency: 3, timeoutMs: 3_000 });
    await load.answeredMore(5, 'searches answered before the fault');

    await publishWithRetry(producer, docs.slice(0, 100));
    await waitFor(
      'the encoder to write some of the documents',
      async () => {
        const { count } = await h.qdrant.count(h.topology.qdrant.alias, { exact: true });
        return count > 0 ? true : undefined;
      },
      180_000,
      100,
    );
    const before = load.snapshot();
    const retriesBefore = await retries();
    const stopped = performance.now();
    await server.halt('graceful');
    // Publishing goes on; the outage lasts until the encoder has retried and searches have failed.
    await publishWithRetry(producer, docs.slice(100, 200));
    await waitFor(
      'the encoder to retry against the stopped Qdrant',
      async () => ((await retries()) >= retriesBefore + 2 ? true : undefined),
      120_000,
      50,
    );
    await load.erroredMore(3, 'searches to fail while Qdrant is down');
    await server.restart();
    const downMs = Math.round(performance.now() - stopped);
    const during = load.snapshot();
    const restarted = performance.now();
    await load.answeredMore(1, 'a search answered after Qdrant came back');
    const firstAnswerMs = Math.round(performance.now() - restarted);
    await publishWithRetry(producer, docs.slice(200));
    await waitIndexed(h, docs);
    const indexedMs = Math.round(performance.now() - restarted);
    await producer.close();
    const outcomes = await load.close();

    const outage = since(before, during);
    report('Qdrant restart', {
      qdrantDownMs: downMs,
      encoderRetriesDuringOutage: (await retries()) - retriesBefore,
      searchesDuringOutage: outage,
      firstAnswerMsAfterRestart: firstAnswerMs,
      allIndexedMsAfterRestart: indexedMs,
      searchesTotal: outcomes,
    });
    assert.deepEqual(
      Object.keys(outcomes.errorReplies).filter((code) => code !== 'unavailable'),
      [],
      'the only error replies are `unavailable`',
    );
    assert.ok((outage.errorReplies.unavailable ?? 0) > 0, 'searches during the outage were told Qdrant is unavailable');
    assert.equal(outcomes.overdue, 0, `no search outlived its deadline (slowest ${outcomes.slowestMs} ms)`);
    assertTypedFailures(outcomes);
    assert.equal(faultStack.consumer?.stalled, false, 'the encoder is no longer stalled');
    await assertSearchableExactlyOnce(h, stack.client, 'qrestart', docs, expected);
  });
});
