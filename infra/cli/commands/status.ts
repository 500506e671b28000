import { parseArgs } from 'node:util';
import { formatShadow } from '../../../consumers/quality/index.ts';
import { ReindexQueue, type ReindexJobSummary } from '../../../consumers/reindex/index.ts';
import { groupPosition } from '../../../consumers/runtime/index.ts';
import { createKafka, createRedis, getServices } from '../../index.ts';
import { createQdrant } from '../../../topology/connections/qdrant-client.ts';
import { createTopology, loadConfig, parseCollectionName, topicSpecs } from '../../../topology/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { resultLines } from './reindex.ts';

/** Topics, consumer lag, collections and aliases, models, rebuild jobs — one screen. */
export async function statusCommand(out: Output, options: { json: boolean }): Promise<number> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const services = await getServices({ profile: 'up', start: false, log: (l) => out.info(l) });
  const kafka = createKafka(services.kafka, 'searchbus-status');
  const admin = kafka.admin();
  const qdrant = createQdrant(services.qdrant);
  const redis = createRedis(services.redis, 'searchbus-status');
  const queue = new ReindexQueue({ connection: redis, redis, topology, config });
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = await Promise.all(
      topicSpecs(topology, config).map(async (spec) => {
        if (!existing.has(spec.topic)) return { topic: spec.topic, exists: false, partitions: 0, messages: 0 };
        const offsets = await admin.fetchTopicOffsets(spec.topic);
        return {
          topic: spec.topic,
          exists: true,
          partitions: offsets.length,
          messages: offsets.reduce((s, o) => s + Number(BigInt(o.high) - BigInt(o.low)), 0),
        };
      }),
    );
    // The media group's lag is where an OCR or transcription backlog shows; text never waits on it.
    const groupIds = [topology.groups.encoder, topology.groups.mediaEncoder, topology.groups.query];
    const { groups: described } = await admin.describeGroups(groupIds);
    const groups = await Promise.all(
      groupIds.map(async (groupId) => {
        const topic = groupId === topology.groups.query ? topology.topics.searchRequests : topology.topics.ingest;
        if (!existing.has(topic)) return { groupId, members: 0, state: 'none', lag: null };
        const { lag } = await groupPosition(admin, groupId, topic);
        const group = described.find((g) => g.groupId === groupId);
        return { groupId, members: group?.members.length ?? 0, state: group?.state ?? 'unknown', lag };
      }),
    );
    const { aliases } = await qdrant.getAliases();
    const live = aliases.find((a) => a.alias_name === topology.qdrant.alias)?.collection_name ?? null;
    const { collections: all } = await qdrant.getCollections();
    const collections = await Promise.all(
      all
        .filter((c) => parseCollectionName(c.name)?.alias === topology.qdrant.alias)
        .map(async (c) => ({
          name: c.name,
          model: parseCollectionName(c.name)?.modelId ?? null,
          points: (await qdrant.count(c.name, { exact: true })).count,
          live: c.name === live,
        })),
    );
    const jobs = await queue.list(10);
    const schedulers = await queue.schedulers();
    const status = {
      namespace: topology.namespace,
      alias: topology.qdrant.alias,
      liveCollection: live,
      topics,
      groups,
      collections,
      jobs,
      schedulers,
    };
    if (options.json) {
      out.result(JSON.stringify(status, null, 2));
      return 0;
    }
    out.result(`namespace ${status.namespace}; alias ${status.alias} -> ${live ?? '(none)'}`);
    out.result('topics:');
    for (const t of topics)
      out.result(
        `  ${t.topic.padEnd(40)} ${t.exists ? `${t.partitions} partitions, ${t.messages} messages` : 'missing (run `searchbus topology apply`)'}`,
      );
    out.result('consumer groups:');
    for (const g of groups) out.result(`  ${g.groupId.padEnd(40)} ${g.members} members (${g.state}), lag ${g.lag ?? '-'}`);
    out.result('collections:');
    for (const c of collections)
      out.result(`  ${c.live ? '*' : ' '} ${c.name.padEnd(55)} ${String(c.points).padStart(8)} points  model ${c.model ?? '?'}`);
    out.result('rebuild jobs:');
    if (jobs.length === 0) out.result('  none');
    for (const j of jobs) out.result(`  ${formatJob(j)}`);
    for (const s of schedulers) out.result(`  schedule ${s.id}: ${s.pattern ?? `every ${s.every} ms`}, next ${s.next ?? '-'}`);
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
    await admin.disconnect();
    await services.close();
  }
}

function formatJob(job: ReindexJobSummary): string {
  const p = job.progress;
  const what =
    job.name === 'rebuild'
      ? `rebuild with ${(job.data as { modelId?: string }).modelId ?? '?'}`
      : `${job.name} ${(job.data as { collection?: string }).collection ?? ''}`;
  const detail =
    job.state === 'active' && p
      ? `${p.phase} ${p.processed}/${p.total} (${p.messagesPerSecond} msg/s${p.etaSeconds !== null ? `, eta ${p.etaSeconds}s` : ''})`
      : job.state === 'failed'
        ? `failed: ${job.failedReason ?? ''}`
        : job.state === 'completed' && job.result && typeof job.result === 'object'
          ? job.result.outcome === 'refused-by-gate'
            ? `refused-by-gate: ${job.result.target} kept until ${job.result.dropTargetAt ?? '-'}`
            : `-> ${job.result.target} in ${job.result.seconds.toFixed(1)} s${job.result.forced ? ' (forced past the gate)' : ''}`
          : '';
  const extra =
    job.name === 'rebuild'
      ? [
          ...(p?.shadow && job.state === 'active' ? [formatShadow(p.shadow)] : []),
          ...resultLines(job.state === 'completed' ? job.result : null),
        ]
      : [];
  return [`#${job.id} ${what} [${job.state}] ${detail} (created ${job.createdAt})`, ...extra.map((line) => `      ${line}`)].join('\n');
}

export const command = defineCommand({
  name: 'status',
  parse(argv): { json: boolean } {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
    return { json: values.json };
  },
  run: (options, { out }) => statusCommand(out, options),
});
