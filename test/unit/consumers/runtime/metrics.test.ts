import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import type { Redis } from 'ioredis';
import { QdrantClient } from '@qdrant/js-client-rest';
import { EncoderConsumer } from '../../../../consumers/encoder/index.ts';
import { QueryConsumer } from '../../../../consumers/query/index.ts';
import { MetricsRegistry } from '../../../../consumers/runtime/index.ts';
import { ContractError, createTopology, loadConfig } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

// The metrics every role exported before prom-client, with their types and labels, as the
// hand-written registry declared them. Dashboards and alerts depend on these: they must not change.
const BEFORE_PROM_CLIENT = [
  ['searchbus_messages_processed_total', 'counter', 'role,topic'],
  ['searchbus_messages_dead_lettered_total', 'counter', 'role,topic'],
  ['searchbus_retries_total', 'counter', 'role'],
  ['searchbus_rewinds_total', 'counter', 'role,topic'],
  ['searchbus_batch_size', 'histogram', 'role'],
  ['searchbus_handle_seconds', 'histogram', 'role'],
  ['searchbus_consumer_lag', 'gauge', 'partition,role,topic'],
  ['searchbus_points_written_total', 'counter', 'collection'],
  ['searchbus_documents_total', 'counter', 'op'],
  ['searchbus_search_replies_total', 'counter', 'outcome'],
  ['searchbus_search_expired_total', 'counter', ''],
  ['searchbus_search_unreplyable_total', 'counter', ''],
  ['searchbus_search_batch_seconds', 'histogram', ''],
] as const;

const ADDED = [
  ['searchbus_freshness_seconds', 'histogram', 'role'],
  ['searchbus_search_latency_seconds', 'histogram', 'outcome'],
  // Shadow comparison during a rebuild (issue 13).
  ['searchbus_shadow_searches_total', 'counter', 'outcome'],
  ['searchbus_shadow_overlap_at_10', 'histogram', ''],
  ['searchbus_shadow_rbo', 'histogram', ''],
  ['searchbus_shadow_search_seconds', 'histogram', 'side'],
  // Read your writes (issue 22).
  ['searchbus_search_after_total', 'counter', 'outcome'],
  // Recordings indexed without their transcript (issue 20).
  ['searchbus_transcription_failures_total', 'counter', 'reason'],
] as const;

function buildRoles(metrics: MetricsRegistry): void {
  const config = loadConfig({ SEARCHBUS_NAMESPACE: 'metrics-unit' });
  const topology = createTopology('metrics-unit');
  // Constructing a consumer opens no connection: the clients point nowhere.
  const kafka = new kafkajs.Kafka({ brokers: ['127.0.0.1:1'], logLevel: kafkajs.logLevel.NOTHING });
  const qdrant = new QdrantClient({ url: 'http://127.0.0.1:1', checkCompatibility: false });
  const never = (): Promise<never> => Promise.reject(new Error('not in this test'));
  new EncoderConsumer({ kafka, qdrant, topology, config, encoder: never, metrics });
  new QueryConsumer({ kafka, qdrant, redis: {} as Redis, topology, config, encoder: never, metrics });
}

describe('metrics', () => {
  it('keeps every metric name, type and label set the roles exported before prom-client', async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: true });
    buildRoles(metrics);
    const declared = new Map(metrics.declaredMetrics().map((m) => [m.name, [m.type, [...m.labelNames].sort().join(',')]]));
    for (const [name, type, labels] of [...BEFORE_PROM_CLIENT, ...ADDED]) {
      assert.deepEqual(declared.get(name), [type, labels], name);
    }
    assert.equal(
      declared.size,
      BEFORE_PROM_CLIENT.length + ADDED.length,
      `no metric beyond the known ones: ${[...declared.keys()].join(', ')}`,
    );
    const text = await metrics.render();
    for (const [name, type] of [...BEFORE_PROM_CLIENT, ...ADDED]) assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
  });

  it('adds prom-client default process, event-loop and GC metrics to a process registry', async () => {
    const text = await new MetricsRegistry({ defaultMetrics: true }).render();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.doesNotMatch(await new MetricsRegistry().render(), /process_cpu/, 'a bare registry has none');
  });

  it('hands back the same metric for the same name, type and labels (roles of one process share series)', async () => {
    const metrics = new MetricsRegistry();
    const a = metrics.counter('x_total', 'x', ['role']);
    const b = metrics.counter('x_total', 'x again', ['role']);
    assert.equal(a, b);
    a.inc({ role: 'encoder' }, 2);
    b.inc({ role: 'encoder' });
    assert.equal(await metrics.value('x_total', { role: 'encoder' }), 3);
    assert.equal(await metrics.value('x_total', { role: 'query' }), 0);
  });

  it('fails loudly when a name is registered again as another type, with other labels or buckets', () => {
    const metrics = new MetricsRegistry({ defaultMetrics: true });
    metrics.counter('searchbus_messages_processed_total', 'x', ['role', 'topic']);
    metrics.histogram('h_seconds', 'h', [0.1, 1]);
    assert.throws(
      () => metrics.gauge('searchbus_messages_processed_total', 'x', ['role', 'topic']),
      errorOf(ContractError, 'metric-conflict', /already registered as a counter, not a gauge/),
    );
    assert.throws(
      () => metrics.histogram('searchbus_messages_processed_total', 'x', [1], ['role', 'topic']),
      errorOf(ContractError, 'metric-conflict'),
    );
    assert.throws(() => metrics.counter('searchbus_messages_processed_total', 'x', ['role']), /labels \[role, topic\], not \[role\]/);
    assert.throws(() => metrics.histogram('h_seconds', 'h', [0.5]), /other buckets/);
    assert.throws(() => metrics.gauge('process_cpu_seconds_total', 'x'), /default metric/);
  });

  it('reads a histogram series as its observation count', async () => {
    const metrics = new MetricsRegistry();
    const h = metrics.histogram('h_seconds', 'h', [0.1, 1], ['role']);
    h.observe({ role: 'a' }, 0.5);
    h.observe({ role: 'a' }, 5);
    assert.equal(await metrics.value('h_seconds', { role: 'a' }), 2);
    await assert.rejects(metrics.value('nope'), errorOf(ContractError, 'metric-conflict'));
  });
});
