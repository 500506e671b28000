import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { EvalSetStore, formatShadow } from '../../../consumers/quality/index.ts';
import {
  DEFAULT_MAX_NDCG_DROP,
  formatGate,
  ReindexQueue,
  type GateRequest,
  type ReindexRequest,
  type ReindexResult,
} from '../../../consumers/reindex/index.ts';
import { createRedis, getServices } from '../../index.ts';
import { ContractError, createTopology, DEFAULT_TENANT, getModelSpec, loadConfig, type Topology } from '../../../topology/index.ts';
import { readEvalSet } from '../../eval/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { ProgressBar } from '../progress-bar.ts';

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

async function gateRequest(
  options: ReindexCommandOptions,
  redis: ReturnType<typeof createRedis>,
  topology: Topology,
): Promise<GateRequest | undefined> {
  if (options.gate === undefined) return undefined;
  const tenant = options.tenant ?? DEFAULT_TENANT;
  const common = { tenant, maxNdcgDrop: options.maxNdcgDrop ?? DEFAULT_MAX_NDCG_DROP, force: options.force ?? false };
  if (isDirectory(options.gate)) {
    // A folder travels in the job: the worker may run on another machine.
    const set = await readEvalSet(basename(options.gate), options.gate, options.split ?? 'test', tenant);
    return { ...common, set: set.name, inline: set };
  }
  if (!(await new EvalSetStore(redis, topology).get(tenant, options.gate))) {
    throw new ContractError(
      'usage',
      `--gate ${options.gate}: no such folder, and no eval set of that name for tenant ${tenant} (see \`searchbus eval-set list --tenant ${tenant}\`)`,
    );
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
    if (!options.model) throw new ContractError('usage', 'reindex needs --model <id>');
    getModelSpec(options.model);
    const request: ReindexRequest = {
      modelId: options.model,
      ...(options.allowIncompleteHistory ? { allowIncompleteHistory: true } : {}),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
      shadow: {
        rate: options.shadowRate ?? config.reindex.shadowSampleRate,
        holdMs: options.shadowMs ?? 0,
        minSamples: options.shadowSamples ?? 0,
      },
    };
    const gate = await gateRequest(options, redis, topology);
    if (gate) request.gate = gate;
    if (options.everyMs !== undefined || options.cron !== undefined) {
      const id = await queue.schedule(request, {
        ...(options.everyMs !== undefined && { everyMs: options.everyMs }),
        ...(options.cron !== undefined && { cron: options.cron }),
      });
      out.result(
        `scheduled ${id}: rebuild ${topology.qdrant.alias} with ${options.model} ${options.cron ? `on "${options.cron}"` : `every ${options.everyMs} ms`}`,
      );
      return 0;
    }
    const { jobId, created } = await queue.request(request);
    out.info(
      created
        ? `queued rebuild job ${jobId}: ${topology.qdrant.alias} with ${options.model}`
        : `a rebuild of ${topology.qdrant.alias} is already queued or running: job ${jobId}`,
    );
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
      bar.update(
        p.processed,
        `${p.phase} lag ${p.lag}${p.etaSeconds !== null ? ` eta ${p.etaSeconds}s` : ''}${p.shadow ? `; ${formatShadow(p.shadow)}` : ''}`,
      );
    }
    if (job.state === 'completed') {
      const r = job.result;
      if (r?.outcome === 'refused-by-gate') {
        bar?.done(`refused by the gate: ${r.alias} untouched; ${r.target} kept until ${r.dropTargetAt ?? '-'}`);
      } else {
        bar?.done(
          r
            ? `done: ${r.alias} -> ${r.target} (${r.points} points, ${r.seconds.toFixed(1)} s); previous ${r.previous ?? 'none'} dropped at ${r.dropPreviousAt ?? '-'}`
            : 'done',
        );
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

/** The gate's and the shadow comparison's lines of a finished rebuild (`status` shows them too). */
export function resultLines(result: ReindexResult | null): string[] {
  if (!result) return [];
  return [...(result.gate ? [formatGate(result.gate)] : []), ...(result.shadow ? [formatShadow(result.shadow)] : [])];
}

export const command = defineCommand({
  name: 'reindex',
  parse(argv): ReindexCommandOptions {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        watch: { type: 'boolean', default: false },
        'grace-ms': { type: 'string' },
        'allow-incomplete-history': { type: 'boolean', default: false },
        every: { type: 'string' },
        cron: { type: 'string' },
        unschedule: { type: 'boolean', default: false },
        cancel: { type: 'string' },
        json: { type: 'boolean', default: false },
        gate: { type: 'string' },
        tenant: { type: 'string' },
        split: { type: 'string' },
        'max-ndcg-drop': { type: 'string' },
        force: { type: 'boolean', default: false },
        'shadow-rate': { type: 'string' },
        'shadow-ms': { type: 'string' },
        'shadow-samples': { type: 'string' },
      },
    });
    const graceMs = milliseconds('--grace-ms', values['grace-ms']);
    const everyMs = milliseconds('--every', values.every);
    const shadowMs = milliseconds('--shadow-ms', values['shadow-ms']);
    const raw = values['shadow-samples'];
    if (raw !== undefined && !/^\d+$/.test(raw)) throw new ContractError('usage', `--shadow-samples must be a whole number, got "${raw}"`);
    const shadowSamples = raw === undefined ? undefined : Number(raw);
    const maxNdcgDrop = fraction('--max-ndcg-drop', values['max-ndcg-drop']);
    const shadowRate = fraction('--shadow-rate', values['shadow-rate']);
    if (values.gate === undefined && (maxNdcgDrop !== undefined || values.force))
      throw new ContractError('usage', '--max-ndcg-drop and --force go with --gate');
    return {
      watch: values.watch,
      allowIncompleteHistory: values['allow-incomplete-history'],
      unschedule: values.unschedule,
      json: values.json,
      ...(values.model !== undefined && { model: values.model }),
      ...(graceMs !== undefined && { graceMs }),
      ...(everyMs !== undefined && { everyMs }),
      ...(values.cron !== undefined && { cron: values.cron }),
      ...(values.cancel !== undefined && { cancel: values.cancel }),
      ...(values.gate !== undefined && { gate: values.gate, force: values.force }),
      ...(values.tenant !== undefined && { tenant: values.tenant }),
      ...(values.split !== undefined && { split: values.split }),
      ...(maxNdcgDrop !== undefined && { maxNdcgDrop }),
      ...(shadowRate !== undefined && { shadowRate }),
      ...(shadowMs !== undefined && { shadowMs }),
      ...(shadowSamples !== undefined && { shadowSamples }),
    };
  },
  run: (options, { out }) => reindexCommand(out, options),
});

function milliseconds(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new ContractError('usage', `${flag} must be a whole number of milliseconds, got "${raw}"`);
  return Number(raw);
}

function fraction(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !(value >= 0 && value <= 1))
    throw new ContractError('usage', `${flag} must be a number from 0 to 1, got "${raw}"`);
  return value;
}
