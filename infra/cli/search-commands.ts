import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
// The modules rather than the infra index, which would load the Qdrant client too (cold start).
import { getServices } from '../get-services.ts';
import type { Services } from '../index.ts';
import { createKafka, createRedis, createTopology, isSearchMode, isValidNamespace, loadConfig, MEDIA_EXTENSIONS, modalityOf, modelIds, QUERY_MEDIA_EXTENSIONS, SEARCH_MODES, SETTINGS, type MediaQuery, type SearchMode } from '../../topology/index.ts';
// eval, the quality module and the gateway load when used, so that `searchbus search` starts without them (cold start).
import type { RunComparison } from '../../consumers/quality/index.ts';
import type { EvalReport } from '../eval/index.ts';
import { parseFilterArgs, SearchClient, SearchTimeoutError, type SearchResult } from '../../producers/search-client/index.ts';
import type { Output } from './output.ts';
import { UsageError } from './usage-error.ts';
import { startTelemetry } from './telemetry.ts';

export interface SearchCommandOptions {
  text: string;
  /** Query by example: a file whose content is sent inline (up to SEARCHBUS_MEDIA_INLINE_MAX_BYTES). */
  image?: string;
  audio?: string;
  topK: number;
  filters: string[];
  tenant?: string;
  mode?: SearchMode;
  json: boolean;
  timeoutMs?: number;
}

/** One search through the bus; needs running services and a query consumer (`searchbus up`). */
export async function searchCommand(out: Output, options: SearchCommandOptions): Promise<SearchResult> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const filter = parseFilterArgs(options.filters);
  const services = await getServices({ profile: 'up', need: ['kafka', 'redis'], start: false, log: (l) => out.info(l) });
  const telemetry = await startTelemetry(config, 'searchbus-cli');
  const client = new SearchClient({
    kafka: createKafka(services.kafka, 'searchbus-cli-search'),
    redis: createRedis(services.redis, 'searchbus-cli-search'),
    topology,
    defaultTimeoutMs: options.timeoutMs ?? config.query.defaultTimeoutMs,
    startTimeoutMs: config.startTimeoutMs,
  });
  try {
    const result = await client.search({
      ...(await queryOf(options, config.media.inlineMaxBytes)),
      topK: options.topK,
      ...(filter ? { filter } : {}),
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
    });
    if (options.json) {
      out.result(JSON.stringify(result));
    } else {
      result.hits.forEach((hit, i) => {
        const title = hit.title ? `  ${hit.title}` : '';
        const where = [hit.page !== undefined ? `page ${hit.page}` : '', hit.chunk > 0 ? `chunk ${hit.chunk}` : ''].filter(Boolean).join(', ');
        out.result(`${String(i + 1).padStart(3)}. ${hit.score.toFixed(4)}  ${hit.docId}${where ? ` (${where})` : ''}${title}`);
        if (hit.snippet) out.result(`     ${hit.snippet}`);
        if (hit.media) out.result(`     [${hit.media.modality} ${hit.media.type}${hit.media.uri ? ` ${hit.media.uri}` : ''}${hit.media.at !== undefined ? ` at ${hit.media.at} s` : ''}]`);
      });
      out.info(`${result.hits.length} hits in ${result.latencyMs.toFixed(1)} ms (model ${result.model}${result.mode ? `, ${result.mode}` : ''}, ${result.tookMs} ms in the query consumer)`);
    }
    return result;
  } catch (error) {
    if (error instanceof SearchTimeoutError) {
      throw new Error(`${error.message}. Is a query consumer running? Start one with \`searchbus up\` or \`searchbus run query\`.`, { cause: error });
    }
    throw error;
  } finally {
    await client.close();
    await services.stop();
    await telemetry?.shutdown();
  }
}

/** The words, or the file of a query by example read inline (its type from its extension). */
async function queryOf(options: SearchCommandOptions, inlineMaxBytes: number): Promise<{ text: string } | { image: MediaQuery } | { audio: MediaQuery }> {
  const kind = options.image !== undefined ? 'image' : options.audio !== undefined ? 'audio' : null;
  if (kind === null) return { text: options.text };
  const file = (kind === 'image' ? options.image : options.audio)!;
  const type = MEDIA_EXTENSIONS[extname(file).toLowerCase()];
  if (!type || modalityOf(type) !== kind) throw new UsageError(`--${kind} ${file}: not a supported ${kind} file (${QUERY_MEDIA_EXTENSIONS.join(', ')})`);
  const bytes = await readFile(file).catch((error: unknown) => {
    throw new UsageError(`--${kind} ${file}: ${(error as Error).message}`);
  });
  if (bytes.length > inlineMaxBytes) throw new UsageError(`--${kind} ${file} is ${bytes.length} bytes; queries by example are limited to ${inlineMaxBytes} (SEARCHBUS_MEDIA_INLINE_MAX_BYTES)`);
  const media = { type, data: bytes.toString('base64') };
  return kind === 'image' ? { image: media } : { audio: media };
}

export interface RunningFront {
  stop(): Promise<void>;
}

/** The HTTP gateway until stopped; `/readyz` is 200 while Kafka answers and the Redis subscription is up. */
export async function gatewayCommand(out: Output, options: { port?: number }): Promise<RunningFront> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const services: Services = await getServices({ profile: 'up', need: ['kafka', 'redis'], start: false, log: (l) => out.info(l) });
  try {
    const [{ displayHost, startGatewayService }, { jsonLogger }] = await Promise.all([import('../gateway/index.ts'), import('../../consumers/runtime/index.ts')]);
    const gateway = await startGatewayService({
      kafka: createKafka(services.kafka, 'searchbus-gateway'),
      redis: createRedis(services.redis, 'searchbus-gateway'),
      topology,
      config,
      logger: jsonLogger('gateway'),
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
    out.info(`gateway on http://${displayHost(config.gateway.host)}:${gateway.port}/search?q=… (${gateway.auth}; search page: /; health: /healthz, /readyz)`);
    return {
      stop: async () => {
        await gateway.stop();
        await services.stop();
      },
    };
  } catch (error) {
    await services.stop().catch(() => undefined);
    throw error;
  }
}

export interface EvalCommandOptions {
  split: string;
  json: boolean;
  namespace?: string;
  concurrency: number;
  mode?: SearchMode;
  perQueryFile?: string;
  /** The model of the run (default: whatever the namespace serves, or SEARCHBUS_MODEL for a new one). */
  model?: string;
  /** A second run differing in one respect (`--compare <model|mode>`), compared query by query. */
  compare?: string;
}

/**
 * What one eval run searches with. `--compare` derives the second run from the first by changing
 * one field; a run's namespace is named after what it indexes, so each keeps its own index.
 */
export interface EvalRunSpec {
  model?: string;
  mode?: SearchMode;
}

/** The second run of `eval --compare <value>`: a model id, or a search mode. */
export function compareSpec(base: EvalRunSpec, value: string): EvalRunSpec {
  // Same model, same namespace: the second run searches the index the first one built.
  if (isSearchMode(value)) return { ...base, mode: value };
  if (!modelIds().includes(value)) throw new UsageError(`--compare takes a model (${modelIds().join(', ')}) or a mode (${SEARCH_MODES.join(', ')}), got "${value}"`);
  return { ...base, model: value };
}

export interface EvalCommandResult {
  report: EvalReport;
  /** With --compare: the second run and the comparison. */
  compared?: { report: EvalReport; comparison: RunComparison };
}

/**
 * nDCG@10, recall@100, MRR@10 and latency of a BEIR folder through the whole pipeline. It runs in
 * a namespace of its own (default `eval-<folder>`, `eval-<folder>-<model>` when a model is named),
 * so its documents never mix with live ones and a second run reuses the index. With --compare, a
 * second run and per-query wins, losses, ties and a paired randomization test between the two.
 */
export async function evalCommand(out: Output, dir: string, options: EvalCommandOptions, signal?: AbortSignal): Promise<EvalCommandResult> {
  const base: EvalRunSpec = { ...(options.model !== undefined && { model: options.model }), ...(options.mode !== undefined && { mode: options.mode }) };
  if (base.model !== undefined && !modelIds().includes(base.model)) throw new UsageError(`--model must be one of ${modelIds().join(', ')}, got "${base.model}"`);
  const other = options.compare !== undefined ? compareSpec(base, options.compare) : undefined;
  const log = (line: string): void => out.info(line);
  const services = await getServices({ profile: 'up', start: false, log });
  try {
    const [{ runEval }, { compareRuns, formatComparison }] = await Promise.all([import('../eval/index.ts'), import('../../consumers/quality/index.ts')]);
    const run = async (spec: EvalRunSpec): Promise<EvalReport> => {
      const namespace = specNamespace(dir, spec, options.namespace);
      if (!isValidNamespace(namespace)) throw new UsageError(`--namespace must be lowercase letters, digits and dashes, got "${namespace}"`);
      const config = loadConfig({ ...process.env, [SETTINGS.namespace]: namespace, ...(spec.model !== undefined && { [SETTINGS.model]: spec.model }) });
      log(`run ${describeSpec(spec)} in namespace ${namespace}`);
      return runEval({
        dir,
        split: options.split,
        services,
        config,
        topology: createTopology(namespace),
        concurrency: options.concurrency,
        timeoutMs: Math.max(config.query.defaultTimeoutMs, 30_000),
        log,
        ...(spec.model !== undefined && { expectModel: spec.model }),
        ...(spec.mode !== undefined && { mode: spec.mode }),
        ...(spec === base && options.perQueryFile !== undefined && { perQueryFile: options.perQueryFile }),
        ...(signal ? { signal } : {}),
      });
    };
    const report = await run(base);
    const result: EvalCommandResult = { report };
    if (other) {
      const second = await run(other);
      result.compared = { report: second, comparison: compareRuns(report.details.scores, second.details.scores) };
    }
    printEval(out, dir, options, result, formatComparison);
    return result;
  } finally {
    await services.stop();
  }
}

function printEval(
  out: Output,
  dir: string,
  options: EvalCommandOptions,
  { report, compared }: EvalCommandResult,
  formatComparison: (comparison: RunComparison) => readonly string[],
): void {
  const metrics = ({ details, ...figures }: EvalReport): Omit<EvalReport, 'details'> & { model: string } => ({ ...figures, model: details.model });
  if (options.json) {
    if (!compared) {
      const { details: _details, ...figures } = report;
      out.result(JSON.stringify(figures));
      return;
    }
    const byQuery = report.details.scores.perQuery.map((a, i) => ({ id: a.id, a, b: compared.report.details.scores.perQuery[i] }));
    out.result(JSON.stringify({ a: metrics(report), b: metrics(compared.report), comparison: compared.comparison, per_query: byQuery }));
    return;
  }
  for (const [label, r] of compared ? ([['a', report], ['b', compared.report]] as const) : ([['', report]] as const)) {
    const { details } = r;
    const prefix = label ? `${label}: ` : '';
    out.result(`${prefix}dataset      ${resolve(dir)} (split ${options.split}, ${r.queries} queries, ${details.documents} documents)`);
    out.result(`${prefix}collection   ${details.collection} (model ${details.model}${details.reusedIndex ? ', reused' : `, indexed in ${details.indexSeconds.toFixed(0)} s`})`);
    if (!details.reusedIndex) {
      const resumed = details.resumedAt > 0 ? `, resumed with ${details.resumedAt} already indexed` : '';
      out.result(`${prefix}ingest       ${details.ingestDocsPerSecond} docs/s (${details.documents - details.resumedAt} documents in ${details.indexSeconds.toFixed(1)} s${resumed})`);
    }
    out.result(`${prefix}mode         ${details.mode ?? 'unknown'}`);
    out.result(`${prefix}nDCG@10      ${r.ndcg_at_10.toFixed(4)}`);
    out.result(`${prefix}recall@100   ${r.recall_at_100.toFixed(4)}`);
    out.result(`${prefix}MRR@10       ${r.mrr_at_10.toFixed(4)}`);
    out.result(`${prefix}latency ms   p50 ${r.latency_ms.p50}  p95 ${r.latency_ms.p95}  p99 ${r.latency_ms.p99}  (${options.concurrency} in flight, ${(r.queries / details.searchSeconds).toFixed(1)} queries/s)`);
    if (details.failedQueries > 0) out.info(`${prefix}${details.failedQueries} queries failed and count as finding nothing`);
  }
  if (compared) {
    out.result(`b against a (${report.details.model} ${report.details.mode ?? ''} -> ${compared.report.details.model} ${compared.report.details.mode ?? ''}), per query; p: two-sided paired randomization test`);
    for (const line of formatComparison(compared.comparison)) out.result(`  ${line}`);
  }
}

function describeSpec(spec: EvalRunSpec): string {
  return spec.model !== undefined ? `model ${spec.model}` : 'as configured';
}

/** `eval-<folder>`, or `eval-<folder>-<model>` for a named model: each model keeps its own index. */
function specNamespace(dir: string, spec: EvalRunSpec, explicit: string | undefined): string {
  const base = explicit ?? evalNamespace(dir);
  if (spec.model === undefined) return base;
  const suffix = `-${spec.model.replace(/[^a-z0-9]+/g, '-')}`;
  return `${base.slice(0, 48 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

export function evalNamespace(dir: string): string {
  const slug = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `eval-${slug || 'beir'}`.slice(0, 48).replace(/-+$/, '');
}

export function parseMode(raw: string | undefined): SearchMode | undefined {
  if (raw === undefined) return undefined;
  if (!isSearchMode(raw)) throw new UsageError(`--mode must be one of ${SEARCH_MODES.join(', ')}, got "${raw}"`);
  return raw;
}

export function parseTopK(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  // Range is the query consumer's to check; only a non-number cannot be sent.
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--k must be a whole number, got "${raw}"`);
  return Number(raw);
}
