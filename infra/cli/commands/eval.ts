import { basename, resolve } from 'node:path';
import { getServices } from '../../get-services.ts';
import {
  ContractError,
  createTopology,
  isSearchMode,
  isValidNamespace,
  loadConfig,
  modelIds,
  SEARCH_MODES,
  SETTINGS,
  type SearchMode,
} from '../../../topology/index.ts';
import { compareRuns, formatComparison, type RunComparison } from '../../../consumers/quality/index.ts';
import { runEval, type EvalReport } from '../../eval/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { parseMode, parseQueryArgs } from '../query-args.ts';

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
  if (!modelIds().includes(value))
    throw new ContractError(
      'usage',
      `--compare takes a model (${modelIds().join(', ')}) or a mode (${SEARCH_MODES.join(', ')}), got "${value}"`,
    );
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
  const base: EvalRunSpec = {
    ...(options.model !== undefined && { model: options.model }),
    ...(options.mode !== undefined && { mode: options.mode }),
  };
  if (base.model !== undefined && !modelIds().includes(base.model))
    throw new ContractError('usage', `--model must be one of ${modelIds().join(', ')}, got "${base.model}"`);
  const other = options.compare !== undefined ? compareSpec(base, options.compare) : undefined;
  const log = (line: string): void => out.info(line);
  const services = await getServices({ profile: 'up', start: false, log });
  try {
    const run = async (spec: EvalRunSpec): Promise<EvalReport> => {
      const namespace = specNamespace(dir, spec, options.namespace);
      if (!isValidNamespace(namespace))
        throw new ContractError('usage', `--namespace must be lowercase letters, digits and dashes, got "${namespace}"`);
      const config = loadConfig({
        ...process.env,
        [SETTINGS.namespace]: namespace,
        ...(spec.model !== undefined && { [SETTINGS.model]: spec.model }),
      });
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
    printEval(out, dir, options, result);
    return result;
  } finally {
    await services.close();
  }
}

function printEval(out: Output, dir: string, options: EvalCommandOptions, { report, compared }: EvalCommandResult): void {
  const metrics = ({ details, ...figures }: EvalReport): Omit<EvalReport, 'details'> & { model: string } => ({
    ...figures,
    model: details.model,
  });
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
  for (const [label, r] of compared
    ? ([
        ['a', report],
        ['b', compared.report],
      ] as const)
    : ([['', report]] as const)) {
    const { details } = r;
    const prefix = label ? `${label}: ` : '';
    out.result(`${prefix}dataset      ${resolve(dir)} (split ${options.split}, ${r.queries} queries, ${details.documents} documents)`);
    out.result(
      `${prefix}collection   ${details.collection} (model ${details.model}${details.reusedIndex ? ', reused' : `, indexed in ${details.indexSeconds.toFixed(0)} s`})`,
    );
    if (!details.reusedIndex) {
      const resumed = details.resumedAt > 0 ? `, resumed with ${details.resumedAt} already indexed` : '';
      out.result(
        `${prefix}ingest       ${details.ingestDocsPerSecond} docs/s (${details.documents - details.resumedAt} documents in ${details.indexSeconds.toFixed(1)} s${resumed})`,
      );
    }
    out.result(`${prefix}mode         ${details.mode ?? 'unknown'}`);
    out.result(`${prefix}nDCG@10      ${r.ndcg_at_10.toFixed(4)}`);
    out.result(`${prefix}recall@100   ${r.recall_at_100.toFixed(4)}`);
    out.result(`${prefix}MRR@10       ${r.mrr_at_10.toFixed(4)}`);
    out.result(
      `${prefix}latency ms   p50 ${r.latency_ms.p50}  p95 ${r.latency_ms.p95}  p99 ${r.latency_ms.p99}  (${options.concurrency} in flight, ${(r.queries / details.searchSeconds).toFixed(1)} queries/s)`,
    );
    if (details.failedQueries > 0) out.info(`${prefix}${details.failedQueries} queries failed and count as finding nothing`);
  }
  if (compared) {
    out.result(
      `b against a (${report.details.model} ${report.details.mode ?? ''} -> ${compared.report.details.model} ${compared.report.details.mode ?? ''}), per query; p: two-sided paired randomization test`,
    );
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

interface EvalArgs {
  dir: string;
  options: EvalCommandOptions;
}

export const command = defineCommand({
  name: 'eval',
  parse(argv): EvalArgs {
    const { values, positionals } = parseQueryArgs(argv);
    const mode = parseMode(values.mode);
    const dir = positionals[0];
    if (!dir) throw new ContractError('usage', 'eval needs a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)');
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
      throw new ContractError('usage', '--concurrency must be a whole number from 1 to 256');
    return {
      dir,
      options: {
        split: values.split,
        json: values.json,
        concurrency,
        ...(values.namespace !== undefined && { namespace: values.namespace }),
        ...(values.model !== undefined && { model: values.model }),
        ...(values.compare !== undefined && { compare: values.compare }),
        ...(mode !== undefined && { mode }),
        ...(values['per-query'] !== undefined && { perQueryFile: values['per-query'] }),
      },
    };
  },
  async run({ dir, options }, { out, untilSignal }) {
    const aborted = new AbortController();
    void untilSignal().then(() => aborted.abort(new Error('interrupted')));
    const { report, compared } = await evalCommand(out, dir, options, aborted.signal);
    // Scores with failed queries in them understate quality; say so in the exit code too.
    return report.details.failedQueries + (compared?.report.details.failedQueries ?? 0) > 0 ? 4 : 0;
  },
});
