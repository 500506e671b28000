import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { startKafka, type KafkaEndpoint, type ServiceProcess, type StartedService } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import {
  assertSearchableExactlyOnce,
  assertTypedFailures,
  expectedChunks,
  faultDocs,
  publishWithRetry,
  report,
  SearchLoad,
  since,
  waitIndexed,
} from '../support/faults.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';
import { startRoleProcess } from '../support/role-process.ts';

// Processes frozen with SIGSTOP and resumed with SIGCONT: an encoder process frozen long enough for
// its group to rebalance it out (it resumes mid-batch, a member that no longer owns its
// partitions), then the Kafka broker frozen while documents are published and searches run.
describe('fault: processes frozen with SIGSTOP and resumed', () => {
  let kafka: StartedService<KafkaEndpoint>;
  let broker: ServiceProcess;
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;
  const children: ChildProcess[] = [];
  /** The last lines each encoder process wrote to stderr, shown when a wait on it fails. */
  const stderr = new Map<ChildProcess, string[]>();
  const explain = async <T>(child: ChildProcess, wait: Promise<T>): Promise<T> => {
    try {
      return await wait;
    } catch (error) {
      process.stderr.write(`encoder process ${child.pid} stderr (last lines):\n${(stderr.get(child) ?? []).join('\n')}\n`);
      throw error;
    }
  };
  const docs = faultDocs('sigstop', 300);
  let expected: Map<string, number>;

  before(async () => {
    kafka = await startKafka({ profile: 'test', env: process.env, log: () => undefined });
    assert.ok(kafka.process, 'a local broker process');
    broker = kafka.process;
    h = await createHarness({ own: { kafka: kafka.endpoint } });
    encoder = await loadEncoder(h.config.model);
    expected = expectedChunks(encoder, docs);
    stack = await startQueryStack(h, [encoder]);
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await stack?.close().catch(() => undefined);
    await encoder?.close();
    await h?.close().catch(() => undefined);
    await kafka?.close();
  });

  const members = async (): Promise<number> => {
    const { groups } = await h.admin.describeGroups([h.topology.groups.encoder]);
    const group = groups[0];
    return group?.state === 'Stable' ? group.members.length : -1;
  };

  it('indexes everything exactly once after an encoder process was frozen out of its group and resumed', async () => {
    for (let i = 0; i < 2; i++) {
      const child = startRoleProcess(h, 'encoder', { SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '8' });
      children.push(child);
      const lines: string[] = [];
      stderr.set(child, lines);
      child.stderr?.on('data', (chunk: Buffer) => {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        lines.splice(0, Math.max(0, lines.length - 60));
      });
    }
    const [frozen] = children;
    assert.ok(frozen);
    await waitFor('both encoder processes in the group', async () => ((await members()) === 2 ? true : undefined), 180_000, 250);

    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await publishWithRetry(producer, docs.slice(0, 150));
    await waitFor(
      'the encoders to write some points',
      async () => {
        const { count } = await h.qdrant.count(h.topology.qdrant.alias, { exact: true });
        return count >= 20 ? true : undefined;
      },
      180_000,
      100,
    );

    frozen.kill('SIGSTOP');
    const stoppedAt = performance.now();
    // Kafka notices a silent member after its session timeout and gives its partitions to the other.
    await waitFor(
      'the frozen encoder to be rebalanced out of the group',
      async () => ((await members()) === 1 ? true : undefined),
      180_000,
      250,
    );
    const rebalancedOutMs = Math.round(performance.now() - stoppedAt);
    await publishWithRetry(producer, docs.slice(150));
    await waitIndexed(h, docs);
    const indexedWhileFrozenMs = Math.round(performance.now() - stoppedAt);

    frozen.kill('SIGCONT');
    const resumedAt = performance.now();
    await explain(
      frozen,
      waitFor('the resumed encoder to rejoin the group', async () => ((await members()) === 2 ? true : undefined), 120_000, 250),
    );
    const rejoinedMs = Math.round(performance.now() - resumedAt);
    assert.equal(frozen.exitCode, null, 'the resumed encoder process is still running');
    await producer.close();

    report('encoder process frozen (SIGSTOP) and resumed', { rebalancedOutMs, indexedWhileFrozenMs, rejoinedMsAfterSigcont: rejoinedMs });
    await assertSearchableExactlyOnce(h, stack.client, 'sigstop', docs, expected);
  });

  it('indexes everything exactly once and ends every search by its deadline after the broker was frozen', async () => {
    const more = faultDocs('frozenbroker', 100);
    const moreExpected = expectedChunks(encoder, more);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const load = new SearchLoad(stack.client, { concurrency: 3, timeoutMs: 3_000 });
    await load.answeredMore(10, 'searches answered before the freeze');
    await publishWithRetry(producer, more.slice(0, 40));

    const before = load.snapshot();
    broker.signal('SIGSTOP');
    const frozenAt = performance.now();
    // Documents published while the broker is frozen wait in the producer, then go through.
    const publishing = publishWithRetry(producer, more.slice(40));
    await load.erroredMore(3, 'searches to fail while the broker is frozen');
    broker.signal('SIGCONT');
    const frozenMs = Math.round(performance.now() - frozenAt);
    const during = load.snapshot();
    const resumedAt = performance.now();
    await load.answeredMore(1, 'a search answered after the broker resumed');
    const firstAnswerMs = Math.round(performance.now() - resumedAt);
    const { failedSends } = await publishing;
    await waitIndexed(h, more);
    const indexedMs = Math.round(performance.now() - resumedAt);
    await load.answeredMore(10, 'searches answered after the broker resumed');
    const outcomes = await load.close();
    await producer.close();

    report('Kafka broker frozen (SIGSTOP) and resumed', {
      brokerFrozenMs: frozenMs,
      searchesWhileFrozen: since(before, during),
      firstAnswerMsAfterSigcont: firstAnswerMs,
      failedSends,
      allIndexedMsAfterSigcont: indexedMs,
      searchesTotal: outcomes,
    });
    assert.equal(outcomes.overdue, 0, `no search outlived its deadline (slowest ${outcomes.slowestMs} ms)`);
    assertTypedFailures(outcomes);
    await assertSearchableExactlyOnce(h, stack.client, 'frozenbroker', more, moreExpected);
    await assertSearchableExactlyOnce(h, stack.client, 'sigstop', docs, expected);
    for (const child of children) assert.equal(child.exitCode, null, 'the encoder processes are still running');
  });

  it('stops the encoder processes gracefully afterwards', async () => {
    for (const child of children) {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, 'exit code after SIGTERM');
    }
  });
});
