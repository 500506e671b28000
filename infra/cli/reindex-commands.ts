import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { EvalSetStore, formatShadow } from '../../consumers/quality/index.ts';
import { DEFAULT_MAX_NDCG_DROP, formatGate, ReindexQueue, type GateRequest, type ReindexJobSummary, type ReindexRequest, type ReindexResult } from '../../consumers/reindex/index.ts';
import { groupPosition } from '../../consumers/runtime/index.ts';
import { createKafka, createQdrant, createRedis, getServices } from '../index.ts';
import { createTopology, DEFAULT_TENANT, getModelSpec, loadConfig, parseCollectionName, topicSpecs, type Topology } from '../../topology/index.ts';
import { readEvalSet } from '../eval/index.ts';
import type { Output } from './output.ts';
import { ProgressBar } from './progress-bar.ts';
import { UsageError } from './usage-error.ts';

export interface ReindexCommandOptions {
  model?: string;
  watch: boolean;
  graceMs?: number;
  allowIncompleteHistory: boolean;
  everyMs?: number;
  cron?: string;
  unschedule: boolean;
  cancel?: string;
  json: boolean;
  /** A registered eval set of `tenant`, or a BEIR folder. */
  gate?: string;
  tenant?: string;
  split?: string;
  maxNdcgDrop?: number;
  force?: boolean;
  shadowRate?: number;
  shadowMs?: number;
  shadowSamples?: number;
}

/** Exit code of `reindex --watch` when the gate refused the swap. */
export const REFUSED_BY_GATE_EXIT_CODE = 5;

async function gateRequest(options: ReindexCommandOptions, redis: ReturnType<typeof createRedis>, topology: Topology): Promise<GateRequest | undefined> {
  if (options.gate === undefined) return undefined;
  const tenant = options.tenant ?? DEFAULT_TENANT;
  const common = { tenant, maxNdcgDrop: options.maxNdcgDrop ?? DEFAULT_MAX_NDCG_DROP, force: options.force ?? false };
  if (isDirectory(options.gate)) {
    // A folder travels in the job: the worker may run on another machine.
    const set = await readEvalSet(basename(options.gate), options.gate, options.split ?? 'test', tenant);
    return { ...common, set: set.name, inline: set };
  }
  if (!(await new EvalSetStore(redis, topology).get(tenant, options.gate))) {
    throw new UsageError(`--gate ${options.gate}: no such folder, and no eval set of that name for tenant ${tenant} (see \`searchbus eval-set list --tenant ${tenant}\`)`);
  }
  return { ...common, set: options.gate };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Requests (or schedules, or cancels) a rebuild; with --watch, follows it to the end. */
export async function reindexCommand(out: Output, options: ReindexCommandOptions): Promise<number> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const services = await getServices({ profile: 'up', need: ['redis'], start: false, log: (l) => out.info(l) });
  const redis = createRedis(services.redis, 'searchbus-cli');
  const queue = new ReindexQueue({ connection: redis, redis, topology, config });
  try {
    if (options.cancel) {
      const state = await queue.cancel(options.cancel);
      out.result(
        state === 'unknown'
          ? `no job ${options.cancel}`
          : state === 'active'
            ? `job ${options.cancel} is running: asked its worker to cancel. Before the swap the partial collection is removed and the live index is untouched; a rebuild already handing over completes.`
            : `job ${options.cancel} was ${state}: removed`,
      );
      return state === 'unknown' ? 1 : 0;
    }
    if (options.unschedule) {
      out.result((await queue.unschedule()) ? 'schedule removed' : 'no schedule');
      return 0;
    }
    if (!options.model) throw new UsageError('reindex needs --model <id>');
    getModelSpec(options.model);
    const request: ReindexRequest = {
      modelId: options.model,
      ...(options.allowIncompleteHistory ? { allowIncompleteHistory: true } : {}),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
      shadow: { rate: options.shadowRate ?? config.reindex.shadowSampleRate, holdMs: options.shadowMs ?? 0, minSamples: options.shadowSamples ?? 0 },
    };
    const gate = await gateRequest(options, redis, topology);
    if (gate) request.gate = gate;
    if (options.everyMs !== undefined || options.cron !== undefined) {
      const id = await queue.schedule(request, { ...(options.everyMs !== undefined && { everyMs: options.everyMs }), ...(options.cron !== undefined && { cron: options.cron }) });
      out.result(`scheduled ${id}: rebuild ${topology.qdrant.alias} with ${options.model} ${options.cron ? `on "${options.cron}"` : `every ${options.everyMs} ms`}`);
      return 0;
    }
    const { jobId, created } = await queue.request(request);
    out.info(created ? `queued rebuild job ${jobId}: ${topology.qdrant.alias} with ${options.model}` : `a rebuild of ${topology.qdrant.alias} is already queued or running: job ${jobId}`);
    if (!options.watch) {
      out.result(options.json ? JSON.stringify({ jobId, created }) : jobId);
      return 0;
    }
    return await watch(out, queue, jobId, options.json);
  } finally {
    await queue.close();
    redis.disconnect();
    await services.close();
  }
}

async function watch(out: Output, queue: ReindexQueue, jobId: string, json: boolean): Promise<number> {
  let bar: ProgressBar | undefined;
  for (;;) {
    const job = await queue.get(jobId);
    if (!job) throw new Error(`job ${jobId} disappeared`);
    const p = job.progress;
    if (p && p.total > 0) {
      bar ??= new ProgressBar(`reindex ${jobId}`, p.total, 'msg');
      bar.update(p.processed, `${p.phase} lag ${p.lag}${p.etaSeconds !== null ? ` eta ${p.etaSeconds}s` : ''}${p.shadow ? `; ${formatShadow(p.shadow)}` : ''}`);
    }
    if (job.state === 'completed') {
      const r = job.result;
      if (r?.outcome === 'refused-by-gate') {
        bar?.done(`refused by the gate: ${r.alias} untouched; ${r.target} kept until ${r.dropTargetAt ?? '-'}`);
      } else {
        bar?.done(r ? `done: ${r.alias} -> ${r.target} (${r.points} points, ${r.seconds.toFixed(1)} s); previous ${r.previous ?? 'none'} dropped at ${r.dropPreviousAt ?? '-'}` : 'done');
      }
      for (const line of resultLines(r)) out.info(line);
      if (json) out.result(JSON.stringify(r));
      return r?.outcome === 'refused-by-gate' ? REFUSED_BY_GATE_EXIT_CODE : 0;
    }
    if (job.state === 'failed') {
      bar?.done('failed');
      out.error(`job ${jobId} failed after ${job.attemptsMade} attempt(s): ${job.failedReason ?? 'unknown reason'}`);
      return 1;
    }
    await delay(500);
  }
}

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
        return { topic: spec.topic, exists: true, partitions: offsets.length, messages: offsets.reduce((s, o) => s + Number(BigInt(o.high) - BigInt(o.low)), 0) };
      }),
    );
    const groupIds = [topology.groups.encoder, topology.groups.query];
    const { groups: described } = await admin.describeGroups(groupIds);
    const groups = await Promise.all(
      groupIds.map(async (groupId) => {
        const topic = groupId === topology.groups.encoder ? topology.topics.ingest : topology.topics.searchRequests;
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
        .map(async (c) => ({ name: c.name, model: parseCollectionName(c.name)?.modelId ?? null, points: (await qdrant.count(c.name, { exact: true })).count, live: c.name === live })),
    );
    const jobs = await queue.list(10);
    const schedulers = await queue.schedulers();
    const status = { namespace: topology.namespace, alias: topology.qdrant.alias, liveCollection: live, topics, groups, collections, jobs, schedulers };
    if (options.json) {
      out.result(JSON.stringify(status, null, 2));
      return 0;
    }
    out.result(`namespace ${status.namespace}; alias ${status.alias} -> ${live ?? '(none)'}`);
    out.result('topics:');
    for (const t of topics) out.result(`  ${t.topic.padEnd(40)} ${t.exists ? `${t.partitions} partitions, ${t.messages} messages` : 'missing (run `searchbus topology apply`)'}`);
    out.result('consumer groups:');
    for (const g of groups) out.result(`  ${g.groupId.padEnd(40)} ${g.members} members (${g.state}), lag ${g.lag ?? '-'}`);
    out.result('collections:');
    for (const c of collections) out.result(`  ${c.live ? '*' : ' '} ${c.name.padEnd(55)} ${String(c.points).padStart(8)} points  model ${c.model ?? '?'}`);
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

function resultLines(result: ReindexResult | null): string[] {
  if (!result) return [];
  return [...(result.gate ? [formatGate(result.gate)] : []), ...(result.shadow ? [formatShadow(result.shadow)] : [])];
}

function formatJob(job: ReindexJobSummary): string {
  const p = job.progress;
  const what = job.name === 'rebuild' ? `rebuild with ${(job.data as { modelId?: string }).modelId ?? '?'}` : `${job.name} ${(job.data as { collection?: string }).collection ?? ''}`;
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
  const extra = job.name === 'rebuild' ? [...(p?.shadow && job.state === 'active' ? [formatShadow(p.shadow)] : []), ...resultLines(job.state === 'completed' ? job.result : null)] : [];
  return [`#${job.id} ${what} [${job.state}] ${detail} (created ${job.createdAt})`, ...extra.map((line) => `      ${line}`)].join('\n');
}
