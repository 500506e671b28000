import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OnnxEncoder } from '../../consumers/embedding/index.ts';
import { startKafka, type ServiceProcess, type StartedService, type KafkaEndpoint } from '../../infra/index.ts';
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
import type { Harness } from '../support/harness.ts';
import type { QueryStack } from '../support/query-stack.ts';

// The only Kafka broker is stopped and started again (same process command, port and data
// directory) while documents are being published and searches run. Nothing published is lost or
// indexed twice, and every search ends in hits or an error by its deadline.
describe('fault: the Kafka broker restarted mid-ingest', () => {
  let kafka: StartedService<KafkaEndpoint>;
  let broker: ServiceProcess;
  let faultStack: FaultStack;
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;

  before(async () => {
    kafka = await startKafka({ profile: 'test', env: process.env, log: () => undefined });
    assert.ok(kafka.process, 'a local broker process');
    broker = kafka.process;
    faultStack = await startFaultStack({
      own: { kafka: kafka.endpoint },
      env: { SEARCHBUS_MAX_RETRY_DELAY_MS: '1000', SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '16' },
      withEncoder: true,
    });
    ({ h, encoder, stack } = faultStack);
  });

  after(async () => {
    await faultStack?.close();
    await kafka?.close();
  });

  it('loses and duplicates nothing, and answers or fails every search by its deadline', async () => {
    const docs = faultDocs('krestart', 300);
    const expected = expectedChunks(encoder, docs);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const load = new SearchLoad(stack.client, { concurrency: 2, timeoutMs: 3_000 });
    await load.answeredMore(5, 'searches answered before the fault');

    let restart:
      | Promise<{
          downMs: number;
          atPublished: number;
          before: ReturnType<SearchLoad['snapshot']>;
          during: ReturnType<SearchLoad['snapshot']>;
        }>
      | undefined;
    const { failedSends } = await publishWithRetry(producer, docs, {
      batchSize: 20,
      onBatch: (published) => {
        // A third of the way in, and with the encoder busy, the broker goes down and comes back.
        if (published < 100 || restart) return;
        restart = (async () => {
          const before = load.snapshot();
          const stopped = performance.now();
          await broker.halt('graceful');
          await broker.restart();
          const downMs = Math.round(performance.now() - stopped);
          return { downMs, atPublished: published, before, during: load.snapshot() };
        })();
      },
    });
    assert.ok(restart, 'the broker was restarted mid-ingest');
    const fault = await restart;
    const restarted = performance.now();
    await waitIndexed(h, docs);
    const catchUpMs = Math.round(performance.now() - restarted);
    await load.answeredMore(5, 'searches answered after the restart');
    const outcomes = await load.close();
    await producer.close();

    report('Kafka broker restart', {
      brokerDownMs: fault.downMs,
      restartedAfterPublished: fault.atPublished,
      failedSends,
      allIndexedMsAfterRestart: catchUpMs,
      searchesDuringRestart: since(fault.before, fault.during),
      searchesTotal: outcomes,
      retries: await faultStack.metrics.value('searchbus_retries_total', { role: 'encoder' }),
    });
    await assertSearchableExactlyOnce(h, stack.client, 'krestart', docs, expected);
    assert.equal(outcomes.overdue, 0, `no search outlived its deadline (slowest ${outcomes.slowestMs} ms)`);
    assertTypedFailures(outcomes);
    assert.equal(faultStack.consumer?.state, 'running');
  });
});
