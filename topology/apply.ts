import type { QdrantClient } from '@qdrant/js-client-rest';
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs, { type Admin } from 'kafkajs';
import {
  collectionDrift,
  collectionLayout,
  collectionParams,
  DEFAULT_COLLECTION_SETTINGS,
  layoutFor,
  layoutOf,
  PAYLOAD_INDEXES,
  vectorParams,
  vectorsJson,
  type CollectionSettings,
} from './collection.ts';
import { DEFAULT_ANALYZER_ID, getAnalyzerSpec, type AnalyzerSpec } from './analyzers.ts';
import { COLLECTION_SETTING_NAMES, SETTINGS, type SearchbusConfig } from './config.ts';
import { TimeoutError } from './errors.ts';
import type { ModelSpec } from './models.ts';
import { parseCollectionName, type Topology } from './names.ts';
import { topicSpecs, type TopicSpec } from './topics.ts';

// kafkajs is CommonJS; Node's ESM loader cannot see these exports by name.
const { ConfigResourceTypes } = kafkajs;

export interface ApplyReport {
  /** What was created or changed (or would be, with dryRun). */
  actions: string[];
  /** Differences apply does not fix by itself, with what to do about them. */
  drift: string[];
}

/** Creates or updates topics, the collection behind the alias, and payload indexes. Idempotent. */
export async function applyTopology(options: {
  admin: Admin;
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
  dryRun?: boolean;
}): Promise<ApplyReport> {
  const report: ApplyReport = { actions: [], drift: [] };
  await applyTopics(options, report);
  await applyCollection(options, report);
  return report;
}

/** How long new topics may take to get a leader on every partition, as kafkajs' own wait. */
const LEADERS_TIMEOUT_MS = 30_000;

async function untilLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + LEADERS_TIMEOUT_MS;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new TimeoutError(
        'topic-leaders-timeout',
        `topics ${topics.join(', ')} had no leader on every partition after ${LEADERS_TIMEOUT_MS} ms`,
        {
          timeoutMs: LEADERS_TIMEOUT_MS,
        },
      );
    await delay(200);
  }
}

async function applyTopics(
  { admin, topology, config, dryRun = false }: { admin: Admin; topology: Topology; config: SearchbusConfig; dryRun?: boolean },
  report: ApplyReport,
): Promise<void> {
  const specs = topicSpecs(topology, config);
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    if (!dryRun) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.topic,
            numPartitions: s.numPartitions,
            ...(s.replicationFactor !== null ? { replicationFactor: s.replicationFactor } : {}),
            configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
          })),
        });
      } catch (error) {
        // In a cluster, the broker kafkajs asks for the new topics' leaders may not have heard of
        // them yet; kafkajs waits out LEADER_NOT_AVAILABLE only. The topics were created.
        if ((error as { type?: unknown }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
        await untilLeaders(
          admin,
          missing.map((s) => s.topic),
        );
      }
    }
    for (const s of missing) {
      const replicas = s.replicationFactor !== null ? `, replication factor ${s.replicationFactor}` : '';
      report.actions.push(`create topic ${s.topic} (${s.numPartitions} partitions${replicas})`);
    }
  }
  const present = specs.filter((s) => existing.has(s.topic));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.topic, configNames: Object.keys(s.configs) })),
  });
  for (const spec of present) {
    const layout = metadata.topics.find((t) => t.name === spec.topic)?.partitions ?? [];
    const partitions = layout.length;
    const replicas = Math.min(...layout.map((p) => p.replicas.length));
    if (spec.replicationFactor !== null && partitions > 0 && replicas !== spec.replicationFactor) {
      report.drift.push(
        `topic ${spec.topic} has ${replicas} replicas per partition, ${SETTINGS.topicReplicationFactor} wants ${spec.replicationFactor}: left as is; change it with kafka-reassign-partitions`,
      );
    }
    if (partitions !== spec.numPartitions) {
      report.drift.push(
        `topic ${spec.topic} has ${partitions} partitions, settings want ${spec.numPartitions}: left as is, because repartitioning a keyed topic moves documents to other partitions and breaks per-document order`,
      );
    }
    const actual = described.resources.find((r) => r.resourceName === spec.topic)?.configEntries ?? [];
    const configs = withinReplicas(spec, partitions > 0 ? replicas : null, actual, report);
    const changed = Object.entries(configs).filter(([name, value]) => actual.find((c) => c.configName === name)?.configValue !== value);
    if (changed.length > 0) {
      if (!dryRun) {
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: spec.topic,
              // alterConfigs replaces the topic's whole config, so send every managed entry.
              configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
            },
          ],
        });
      }
      report.actions.push(`update topic ${spec.topic}: ${changed.map(([n, v]) => `${n}=${v}`).join(', ')}`);
    }
  }
}

/**
 * The topic's managed configs, except a min.insync.replicas above the replicas the topic has: that
 * would refuse every acks=all write, so the topic keeps its current value and the gap is drift.
 */
function withinReplicas(
  spec: TopicSpec,
  replicas: number | null,
  actual: ReadonlyArray<{ configName: string; configValue: string }>,
  report: ApplyReport,
): Record<string, string> {
  const wanted = spec.configs['min.insync.replicas'];
  if (wanted === undefined || replicas === null || Number(wanted) <= replicas) return spec.configs;
  report.drift.push(
    `topic ${spec.topic} has ${replicas} replicas per partition, fewer than min.insync.replicas=${wanted} (${SETTINGS.topicMinInsyncReplicas}): left as is, because every acks=all write would be refused; add replicas first (kafka-reassign-partitions), then apply again`,
  );
  const { 'min.insync.replicas': _, ...rest } = spec.configs;
  const current = actual.find((c) => c.configName === 'min.insync.replicas')?.configValue;
  return current === undefined ? rest : { ...rest, 'min.insync.replicas': current };
}

async function applyCollection(
  { qdrant, topology, config, dryRun = false }: { qdrant: QdrantClient; topology: Topology; config: SearchbusConfig; dryRun?: boolean },
  report: ApplyReport,
): Promise<void> {
  const alias = topology.qdrant.alias;
  const { aliases } = await qdrant.getAliases();
  const current = aliases.find((a) => a.alias_name === alias)?.collection_name;
  if (current) {
    const served = parseCollectionName(current)?.modelId;
    if (served && served !== config.model.id) {
      report.drift.push(
        `alias ${alias} serves ${current}, built with ${served}; SEARCHBUS_MODEL is ${config.model.id}: run \`searchbus reindex --model ${config.model.id}\` to rebuild with it`,
      );
    }
    await ensureCollection(qdrant, current, config.model, {
      report,
      dryRun,
      create: false,
      settings: config.qdrant,
      analyzer: config.sparseAnalyzer,
    });
    return;
  }
  const collection = topology.qdrant.collection(config.model.id, 1);
  await ensureCollection(qdrant, collection, config.model, { report, dryRun, settings: config.qdrant, analyzer: config.sparseAnalyzer });
  if (!dryRun) {
    await qdrant.updateCollectionAliases({ actions: [{ create_alias: { alias_name: alias, collection_name: collection } }] });
  }
  report.actions.push(`point alias ${alias} at ${collection}`);
}

/**
 * A collection with the model's vector size (named `text`), the analyzer's sparse vector (IDF
 * modifier), the cluster layout of `settings` (shards, replicas, on-disk storage, quantization,
 * HNSW) and searchbus' payload indexes; creates what is missing. An existing collection is never
 * re-laid out here: where it differs (a legacy unnamed vector, another analyzer, other settings),
 * the difference is drift, it is served as it is, and a rebuild creates its successor.
 */
export async function ensureCollection(
  qdrant: QdrantClient,
  name: string,
  model: ModelSpec,
  options: { report?: ApplyReport; dryRun?: boolean; create?: boolean; settings?: CollectionSettings; analyzer?: AnalyzerSpec | null } = {},
): Promise<ApplyReport> {
  const { report = { actions: [], drift: [] }, dryRun = false, create = true, settings = DEFAULT_COLLECTION_SETTINGS } = options;
  // null is a dense-only collection; left out, the default analyzer.
  const analyzer = options.analyzer === undefined ? getAnalyzerSpec(DEFAULT_ANALYZER_ID) : options.analyzer;
  const { exists } = await qdrant.collectionExists(name);
  const wanted = vectorParams(model);
  const layout = layoutFor(analyzer);
  let payloadSchema: Record<string, unknown> = {};
  if (!exists) {
    if (!create) {
      report.drift.push(`collection ${name} does not exist`);
      return report;
    }
    if (!dryRun) {
      const params = collectionParams(model, layout);
      const vectors = Object.fromEntries(
        Object.entries(params.vectors).map(([vector, p]) => [vector, { ...p, on_disk: settings.vectorsOnDisk }]),
      );
      await qdrant.createCollection(name, { ...params, vectors, ...collectionLayout(settings) });
    }
    report.actions.push(
      `create collection ${name} (${layout.dense}: ${wanted.size} dims, ${wanted.distance}${layout.sparse ? `; ${layout.sparse.name}: sparse, idf` : ''}; ${describeLayout(settings)})`,
    );
  } else {
    const info = await qdrant.getCollection(name);
    const vectors = info.config.params.vectors as Record<string, { size?: number; distance?: string } | number | string> | undefined;
    const existing = layoutOf(info);
    const dense = (typeof existing === 'string' ? undefined : existing.dense === '' ? vectors : vectors?.[existing.dense]) as
      { size?: number; distance?: string } | undefined;
    if (dense?.size !== wanted.size || dense.distance !== wanted.distance) {
      report.drift.push(
        `collection ${name} has vectors ${vectorsJson(vectors)}, model ${model.id} needs ${JSON.stringify(wanted)}: rebuild it with \`searchbus reindex\``,
      );
    } else if (typeof existing !== 'string' && (existing.dense === '' || existing.sparse?.name !== layout.sparse?.name)) {
      const has =
        existing.dense === '' ? 'one unnamed dense vector' : existing.sparse ? `sparse vector ${existing.sparse.name}` : 'no sparse vector';
      const needs = layout.sparse ? `named vectors ${layout.dense} and ${layout.sparse.name}` : `a named vector ${layout.dense}`;
      report.drift.push(
        `collection ${name} has ${has}; the settings want ${needs}: it is served as it is until \`searchbus reindex\` rebuilds it`,
      );
    }
    // Shards and replicas cannot be changed in place (Qdrant moves replicas only on request), and
    // storage, quantization and HNSW changes rebuild segments: a rebuild does all of it while
    // searches go on, and swaps the alias when the new collection has caught up.
    for (const line of collectionDrift(name, info.config, settings, COLLECTION_SETTING_NAMES)) {
      report.drift.push(`${line}: left as is; \`searchbus reindex\` builds its successor with the settings`);
    }
    payloadSchema = info.payload_schema ?? {};
  }
  for (const index of PAYLOAD_INDEXES) {
    if (index.field in payloadSchema) continue;
    if (!dryRun) await qdrant.createPayloadIndex(name, { field_name: index.field, field_schema: index.schema, wait: true });
    report.actions.push(`create payload index ${name}.${index.field}`);
  }
  return report;
}

function describeLayout(s: CollectionSettings): string {
  return [
    `${s.shardNumber} shard${s.shardNumber === 1 ? '' : 's'} x ${s.replicationFactor} replica${s.replicationFactor === 1 ? '' : 's'} (write consistency ${s.writeConsistencyFactor})`,
    `vectors ${s.vectorsOnDisk ? 'on disk' : 'in RAM'}, payload ${s.payloadOnDisk ? 'on disk' : 'in RAM'}`,
    s.quantization === 'int8' ? `int8 quantization, rescoring x${s.rescoreOversampling}` : 'no quantization',
    `HNSW m=${s.hnswM} ef_construct=${s.hnswEfConstruct}`,
  ].join(', ');
}
