import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { LocalKafkaCluster } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { assertSearchableExactlyOnce, expectedChunks, faultDocs, report, SearchLoad, since, waitIndexed } from '../support/faults.ts';
import { startClusterFaultStack, type ClusterFaultStack } from '../support/cluster-stack.ts';
import type { Harness } from '../support/harness.ts';
import type { QueryStack } from '../support/query-stack.ts';

/** Searches per second, as an operator's smoke load during an upgrade. */
const SEARCHES_PER_SECOND = 20;
/** Documents published per second while the brokers restart. */
const DOCS_PER_SECOND = 10;
/** A controlled shutdown moves every leadership away first; on a loaded machine that takes a while. */
const STOP_GRACE_MS = 60_000;

// A rolling restart, as every Kafka upgrade does it: on a 3-node cluster (replication factor 3,
// min.insync.replicas 2), each node in turn is stopped with SIGTERM (a controlled shutdown: its
// leaderships move before it stops), started again, and given back its place in every partition's
// in-sync replicas before the next one goes. Searches run at 20/s and documents are published
// throughout. Goal: no failed search, no lost and no duplicated document.
describe('fault: rolling restart of a 3-broker cluster', () => {
  let f: ClusterFaultStack;
  let cluster: LocalKafkaCluster;
  let h: Harness;
  let stack: QueryStack;

  before(async () => {
    f = await startClusterFaultStack({ cluster: { stopGraceMs: STOP_GRACE_MS } });
    ({ cluster, h, stack } = f);
  });

  after(async () => {
    await f?.close();
  });

  it('answers every search and indexes every document exactly once while each broker restarts in turn', async () => {
    const docs = faultDocs('roll', 2_000);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    const load = new SearchLoad(stack.client, {
      concurrency: 4,
      timeoutMs: h.config.query.defaultTimeoutMs,
      perSecond: SEARCHES_PER_SECOND,
    });
    await load.answeredMore(20, 'searches answered before the restarts');

    // Publishes until told to stop; a send that fails is counted and sent again (nothing is skipped).
    let publishing = true;
    let published = 0;
    let failedSends = 0;
    const batchSize = Math.max(1, Math.round(DOCS_PER_SECOND / 4));
    const ingest = (async () => {
      while (publishing && published < docs.length) {
        const started = performance.now();
        try {
          await producer.upsert(docs.slice(published, published + batchSize));
          published = Math.min(docs.length, published + batchSize);
        } catch {
          failedSends += 1;
        }
        await delay(Math.max(0, 250 - (performance.now() - started)));
      }
    })();

    const before = load.snapshot();
    const restarts: Array<{ node: number; stopMs: number; startMs: number; inSyncMs: number }> = [];
    const rollStarted = performance.now();
    for (const node of cluster.nodes) {
      const stopping = performance.now();
      await node.process.halt('graceful');
      const stopMs = Math.round(performance.now() - stopping);
      assert.ok(stopMs < STOP_GRACE_MS, `node ${node.nodeId} stopped by itself (controlled shutdown), not killed`);
      const starting = performance.now();
      await node.process.restart();
      const startMs = Math.round(performance.now() - starting);
      await f.waitInSync(node.nodeId);
      restarts.push({ node: node.nodeId, stopMs, startMs, inSyncMs: Math.round(performance.now() - starting - startMs) });
    }
    const rollMs = Math.round(performance.now() - rollStarted);
    const during = load.snapshot();
    // A few more seconds of load on the restarted cluster.
    await load.answeredMore(SEARCHES_PER_SECOND * 3, 'searches answered after the restarts');
    publishing = false;
    await ingest;
    await producer.close();
    const outcomes = await load.close();

    const sent = docs.slice(0, published);
    const indexing = performance.now();
    await waitIndexed(h, sent);
    const indexedMs = Math.round(performance.now() - indexing);

    report('Kafka cluster, rolling restart', {
      restarts,
      rollMs,
      searchesPerSecond: SEARCHES_PER_SECOND,
      searchesDuringRoll: since(before, during),
      failingUntilMsAfterRollStart: load.failingUntilMs(rollStarted),
      latencyMsSinceRollStart: load.latencySince(rollStarted),
      searchesTotal: outcomes,
      documentsPublished: published,
      failedSends,
      resentMessages: producer.resentMessages,
      allIndexedMsAfterPublishing: indexedMs,
      clientStats: stack.client.stats,
    });
    assert.equal(load.errors, 0, `no search failed during the rolling restart: ${JSON.stringify(outcomes)}`);
    assert.equal(failedSends, 0, 'no publish failed');
    await assertSearchableExactlyOnce(h, stack.client, 'roll', sent, expectedChunks(f.encoder, sent));
  });
});
