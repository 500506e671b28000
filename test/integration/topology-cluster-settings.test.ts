import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { applyTopology, createTopology, loadConfig, searchParams, topicSpecs, VECTOR_NAMES } from '../../topology/index.ts';
import { createHarness, uniqueNamespace, type Harness } from '../support/harness.ts';

const { ConfigResourceTypes } = kafkajs;

// Cluster settings on real Kafka and the Qdrant engine: `topology apply` creates a collection with
// the configured layout and reports every field of an existing one that differs as drift, without
// changing it; on Kafka, a replication factor or min.insync.replicas the topics cannot meet is drift.
const PRODUCTION = {
  SEARCHBUS_QDRANT_SHARDS: '2',
  SEARCHBUS_QDRANT_REPLICATION_FACTOR: '3',
  SEARCHBUS_QDRANT_WRITE_CONSISTENCY_FACTOR: '2',
  SEARCHBUS_QDRANT_VECTORS_ON_DISK: 'true',
  SEARCHBUS_QDRANT_PAYLOAD_ON_DISK: 'true',
  SEARCHBUS_QDRANT_QUANTIZATION: 'int8',
  SEARCHBUS_QDRANT_HNSW_M: '32',
  SEARCHBUS_QDRANT_HNSW_EF_CONSTRUCT: '256',
};

describe('topology apply: cluster settings and drift', () => {
  let h: Harness;
  let other: string | null = null;

  before(async () => {
    // Applied with the defaults (one machine) by the harness.
    h = await createHarness({ need: ['kafka', 'qdrant'] });
  });

  after(async () => {
    if (other) await h.qdrant.deleteCollection(other).catch(() => undefined);
    await h.close();
  });

  const liveCollection = async (alias: string): Promise<string> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === alias)?.collection_name ?? assert.fail(`alias ${alias} exists`);

  it('creates the collection with the one-machine defaults, and a second apply finds nothing to do', async () => {
    const info = await h.qdrant.getCollection(await liveCollection(h.topology.qdrant.alias));
    const { params, hnsw_config: hnsw, quantization_config: quantization } = info.config;
    assert.deepEqual(
      {
        shards: params.shard_number,
        rf: params.replication_factor,
        wcf: params.write_consistency_factor,
        payloadOnDisk: params.on_disk_payload,
      },
      { shards: 1, rf: 1, wcf: 1, payloadOnDisk: true },
    );
    // Named vectors since hybrid retrieval: the dense one is `text`.
    assert.equal((params.vectors as Record<string, { on_disk?: boolean }>)[VECTOR_NAMES.text]?.on_disk, false);
    assert.deepEqual({ m: hnsw.m, ef: hnsw.ef_construct }, { m: 16, ef: 100 });
    assert.equal(quantization ?? null, null);
    const again = await applyTopology({ admin: h.admin, qdrant: h.qdrant, topology: h.topology, config: h.config });
    assert.deepEqual(again, { actions: [], drift: [] });
  });

  it('reports each differing collection field as drift, naming its setting, and changes nothing', async () => {
    const config = loadConfig({ ...h.env, ...PRODUCTION });
    const before = (await h.qdrant.getCollection(await liveCollection(h.topology.qdrant.alias))).config;
    const report = await applyTopology({ admin: h.admin, qdrant: h.qdrant, topology: h.topology, config });
    assert.deepEqual(report.actions, []);
    const expected = [
      'shard_number 1, SEARCHBUS_QDRANT_SHARDS wants 2',
      'replication_factor 1, SEARCHBUS_QDRANT_REPLICATION_FACTOR wants 3',
      'write_consistency_factor 1, SEARCHBUS_QDRANT_WRITE_CONSISTENCY_FACTOR wants 2',
      // Every dense vector of the collection: text, and the media vectors beside it.
      ...[VECTOR_NAMES.text, VECTOR_NAMES.image, VECTOR_NAMES.audio].map(
        (name) => `vectors.${name}.on_disk false, SEARCHBUS_QDRANT_VECTORS_ON_DISK wants true`,
      ),
      'hnsw_config.m 16, SEARCHBUS_QDRANT_HNSW_M wants 32',
      'hnsw_config.ef_construct 100, SEARCHBUS_QDRANT_HNSW_EF_CONSTRUCT wants 256',
      'quantization "none", SEARCHBUS_QDRANT_QUANTIZATION wants "int8"',
    ];
    assert.equal(report.drift.length, expected.length, report.drift.join('\n'));
    for (const [i, fragment] of expected.entries()) {
      assert.ok(report.drift[i]?.includes(fragment), `drift line ${i}: ${report.drift[i]} should say ${fragment}`);
      assert.ok(report.drift[i]?.endsWith('`searchbus reindex` builds its successor with the settings'));
    }
    const after = (await h.qdrant.getCollection(await liveCollection(h.topology.qdrant.alias))).config;
    assert.deepEqual(after, before);
  });

  it('creates a collection with the production layout, reported back as asked, searchable with rescoring, and without drift', async () => {
    const namespace = uniqueNamespace('cs');
    const topology = createTopology(namespace);
    const config = loadConfig({ SEARCHBUS_NAMESPACE: namespace, ...PRODUCTION });
    const report = await applyTopology({ admin: h.admin, qdrant: h.qdrant, topology, config });
    other = await liveCollection(topology.qdrant.alias);
    assert.ok(
      report.actions.some((a) =>
        a.includes(
          '2 shards x 3 replicas (write consistency 2), vectors on disk, payload on disk, int8 quantization, rescoring x2, HNSW m=32 ef_construct=256',
        ),
      ),
      report.actions.join('\n'),
    );
    assert.deepEqual(report.drift, []);
    const info = await h.qdrant.getCollection(other);
    const { params } = info.config;
    assert.deepEqual(
      {
        shards: params.shard_number,
        rf: params.replication_factor,
        wcf: params.write_consistency_factor,
        payloadOnDisk: params.on_disk_payload,
      },
      { shards: 2, rf: 3, wcf: 2, payloadOnDisk: true },
    );
    assert.equal((params.vectors as Record<string, { on_disk?: boolean }>)[VECTOR_NAMES.text]?.on_disk, true);
    assert.deepEqual({ m: info.config.hnsw_config.m, ef: info.config.hnsw_config.ef_construct }, { m: 32, ef: 256 });
    assert.deepEqual(info.config.quantization_config, { scalar: { type: 'int8', quantile: 0.99, always_ram: true } });

    const size = config.model.dimension;
    const unit = (axis: number): number[] => Array.from({ length: size }, (_, i) => (i === axis ? 1 : 0));
    await h.qdrant.upsert(other, {
      wait: true,
      points: [1, 2, 3].map((id) => ({ id, vector: { [VECTOR_NAMES.text]: unit(id) }, payload: { tenant: 't' } })),
    });
    const params2 = searchParams(config.qdrant);
    assert.deepEqual(params2, { quantization: { rescore: true, oversampling: 2 } });
    const found = await h.qdrant.query(other, {
      query: unit(2),
      using: VECTOR_NAMES.text,
      limit: 1,
      ...(params2 ? { params: params2 } : {}),
    });
    assert.equal(found.points[0]?.id, 2);

    const again = await applyTopology({ admin: h.admin, qdrant: h.qdrant, topology, config });
    await h.admin.deleteTopics({ topics: topicSpecs(topology, config).map((t) => t.topic) });
    assert.deepEqual(again, { actions: [], drift: [] });
  });

  it('reports a topic replication factor and a min.insync.replicas the topics cannot meet as drift, leaving the topics writable', async () => {
    const config = loadConfig({ ...h.env, SEARCHBUS_TOPIC_REPLICATION_FACTOR: '3', SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS: '2' });
    const report = await applyTopology({ admin: h.admin, qdrant: h.qdrant, topology: h.topology, config });
    for (const spec of topicSpecs(h.topology, config)) {
      assert.ok(
        report.drift.some((d) =>
          d.startsWith(`topic ${spec.topic} has 1 replicas per partition, SEARCHBUS_TOPIC_REPLICATION_FACTOR wants 3`),
        ),
        `replication drift for ${spec.topic}: ${report.drift.join('\n')}`,
      );
      assert.ok(
        report.drift.some((d) =>
          d.startsWith(
            `topic ${spec.topic} has 1 replicas per partition, fewer than min.insync.replicas=2 (SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS)`,
          ),
        ),
        `min.insync drift for ${spec.topic}: ${report.drift.join('\n')}`,
      );
    }
    assert.ok(!report.actions.some((a) => a.includes('min.insync.replicas=2')), report.actions.join('\n'));
    const described = await h.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: h.topology.topics.ingest, configNames: ['min.insync.replicas'] }],
    });
    assert.equal(described.resources[0]?.configEntries[0]?.configValue, '1');

    // A value the topics can meet is applied, not reported.
    const met = loadConfig({ ...h.env, SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS: '1' });
    const applied = await applyTopology({ admin: h.admin, qdrant: h.qdrant, topology: h.topology, config: met });
    assert.deepEqual(applied.drift, []);
  });

  it("the project's broker writes offset commits at once (Kafka 4 would hold each up to 5 ms: group.coordinator.append.linger.ms)", async () => {
    const { brokers } = await h.admin.describeCluster();
    const described = await h.admin.describeConfigs({
      includeSynonyms: false,
      resources: brokers.map((b) => ({
        type: ConfigResourceTypes.BROKER,
        name: String(b.nodeId),
        configNames: ['group.coordinator.append.linger.ms'],
      })),
    });
    assert.deepEqual(
      described.resources.map((r) => r.configEntries.find((e) => e.configName === 'group.coordinator.append.linger.ms')?.configValue),
      brokers.map(() => '0'),
    );
  });
});
