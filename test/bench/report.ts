// The benchmark report: what `npm run bench` (test/bench/run-all.ts) writes to
// test/bench/report.json and report.md, built from the JSON each benchmark wrote. Pure functions,
// so the shape is unit-tested on real runs' outputs (test/fixtures/bench/) without timing anything.
// A figure a benchmark did not produce is null, with the reason under `not_measured`; never a guess.

export interface Stamp {
  commit: string;
  date: string;
  cpu_model: string;
  cores: number;
  load_average: { start: number[]; end: number[] };
  dataset: string;
  node: string;
}

/** What each benchmark wrote (`--json`), or why it has nothing. */
export interface Parts {
  bus?: BusOutput | Failure;
  kafkajs?: Record<string, unknown> | Failure;
  ingest?: IngestOutput | Failure;
  edge?: Record<string, unknown> | Failure;
  encoder?: Record<string, unknown> | Failure;
}
export interface Failure {
  failed: string;
}
interface Percentiles {
  p50: number;
  p99: number;
}
export interface BusOutput {
  bus_overhead_ms: { c1: Percentiles; c16: Percentiles };
  bus_throughput_ratio: { c16: number; c64: number };
  trace: { hops: Array<{ hop: string; p50: number; p90: number; p99: number }>; bus_ms: Percentiles; direct_ms: Percentiles; searches: number };
  levels: Array<{ concurrency: number; bus: Percentiles & { qps: number }; direct: Percentiles & { qps: number } }>;
  load_average: number[];
}
export interface IngestOutput {
  documents: number;
  chunks: number;
  ingest_vs_encoder: number;
  ingest_docs_per_s: number;
  encoder_alone_docs_per_s: number | { before: number; after: number; mean: number };
  cpu_cores_during_ingest: Record<string, { cores: number }>;
  freshness_ms: { p50: number; p99: number; load_docs_per_s: number; documents: number };
  /** Means over the freshness run, the encoder's side from its own histograms (absent in older outputs). */
  freshness_hops?: {
    publish_to_retrievable_mean_ms: number;
    encoder_record_to_written: { mean_ms: number; count: number };
    encoder_handle_per_batch: { mean_ms: number; count: number };
    encoder_batch_size_mean: number;
    /** The encoder's indexing code on batches of that size in the benchmark's process, by phase. */
    small_batch?: { documents: number; embed_p50_ms: number; qdrant_upsert_p50_ms: number; qdrant_delete_p50_ms: number; batch_p50_ms: number };
  };
  rss_mb: Record<string, { idle: number; peak: number }>;
  load_average: number[];
}

export const ENCODER_KEYS = ['encoder_vs_transformersjs', 'encoder_vs_session_run', 'int8_speedup', 'int8_ndcg_loss'] as const;

export interface Report {
  stamp: Stamp;
  bus_overhead_ms: { c1: Percentiles; c16: Percentiles } | null;
  bus_throughput_ratio: { c16: number; c64: number } | null;
  encoder_vs_transformersjs: number | null;
  encoder_vs_session_run: number | null;
  ingest_vs_encoder: number | null;
  freshness_ms: { p50: number; p99: number; load_docs_per_s: number } | null;
  int8_speedup: number | null;
  int8_ndcg_loss: number | null;
  rss_mb: Record<string, { idle: number; peak: number }> | null;
  cpu_cores_during_ingest: Record<string, number> | null;
  not_measured: Record<string, string>;
  details: Parts;
}

const failed = (part: unknown): part is Failure => typeof part === 'object' && part !== null && 'failed' in part;
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export function buildReport(stamp: Stamp, parts: Parts): Report {
  const notMeasured: Record<string, string> = {};
  const missing = (keys: readonly string[], part: unknown, name: string): void => {
    const reason = part === undefined ? `${name} did not run` : failed(part) ? `${name} failed: ${part.failed}` : `${name} did not report it`;
    for (const key of keys) notMeasured[key] = reason;
  };

  const bus = parts.bus && !failed(parts.bus) ? parts.bus : undefined;
  if (!bus) missing(['bus_overhead_ms', 'bus_throughput_ratio'], parts.bus, 'test/bench/bus-overhead.ts');

  const ingest = parts.ingest && !failed(parts.ingest) ? parts.ingest : undefined;
  if (!ingest) missing(['ingest_vs_encoder', 'freshness_ms', 'rss_mb', 'cpu_cores_during_ingest'], parts.ingest, 'test/bench/ingest-report.ts');

  const encoder = parts.encoder && !failed(parts.encoder) ? parts.encoder : undefined;
  const encoderFigures: Record<string, number | null> = {};
  for (const key of ENCODER_KEYS) {
    const value = encoder?.[key];
    encoderFigures[key] = finite(value) ? value : null;
    if (!finite(value)) missing([key], parts.encoder, "the encoder-speed benchmark (a test/bench script naming these keys, run with --json)");
  }

  return {
    stamp,
    bus_overhead_ms: bus ? { c1: pick(bus.bus_overhead_ms.c1), c16: pick(bus.bus_overhead_ms.c16) } : null,
    bus_throughput_ratio: bus ? { c16: bus.bus_throughput_ratio.c16, c64: bus.bus_throughput_ratio.c64 } : null,
    encoder_vs_transformersjs: encoderFigures.encoder_vs_transformersjs ?? null,
    encoder_vs_session_run: encoderFigures.encoder_vs_session_run ?? null,
    ingest_vs_encoder: ingest ? ingest.ingest_vs_encoder : null,
    freshness_ms: ingest ? { p50: ingest.freshness_ms.p50, p99: ingest.freshness_ms.p99, load_docs_per_s: ingest.freshness_ms.load_docs_per_s } : null,
    int8_speedup: encoderFigures.int8_speedup ?? null,
    int8_ndcg_loss: encoderFigures.int8_ndcg_loss ?? null,
    rss_mb: ingest ? ingest.rss_mb : null,
    cpu_cores_during_ingest: ingest ? Object.fromEntries(Object.entries(ingest.cpu_cores_during_ingest).map(([k, v]) => [k, v.cores])) : null,
    not_measured: notMeasured,
    details: parts,
  };
}

const pick = (p: Percentiles): Percentiles => ({ p50: p.p50, p99: p.p99 });

/**
 * Problems with a report's shape (empty when it is well formed): every key issue 11 names is
 * present, a figure is a finite number or null, and every null has a reason.
 */
export function reportProblems(report: unknown): string[] {
  const problems: string[] = [];
  if (typeof report !== 'object' || report === null) return ['the report is not an object'];
  const r = report as Record<string, unknown>;
  const notMeasured = (r.not_measured ?? {}) as Record<string, unknown>;
  const stamp = r.stamp as Record<string, unknown> | undefined;
  for (const key of ['commit', 'date', 'cpu_model', 'cores', 'load_average']) if (stamp?.[key] === undefined) problems.push(`stamp.${key} is missing`);
  const numbers = (key: string, paths: string[][]): void => {
    if (!(key in r)) return void problems.push(`${key} is missing`);
    if (r[key] === null) {
      if (typeof notMeasured[key] !== 'string') problems.push(`${key} is null without a reason in not_measured`);
      return;
    }
    for (const path of paths) {
      const value = path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), r[key]);
      if (!finite(value)) problems.push(`${[key, ...path].join('.')} is not a finite number`);
    }
  };
  numbers('bus_overhead_ms', [['c1', 'p50'], ['c1', 'p99'], ['c16', 'p50'], ['c16', 'p99']]);
  numbers('bus_throughput_ratio', [['c16'], ['c64']]);
  for (const key of [...ENCODER_KEYS, 'ingest_vs_encoder']) numbers(key, [[]]);
  numbers('freshness_ms', [['p50'], ['p99'], ['load_docs_per_s']]);
  if (!('rss_mb' in r)) problems.push('rss_mb is missing');
  else if (r.rss_mb === null) {
    if (typeof notMeasured.rss_mb !== 'string') problems.push('rss_mb is null without a reason in not_measured');
  } else {
    const roles = r.rss_mb as Record<string, { idle?: unknown; peak?: unknown }>;
    for (const role of ['encoder', 'query', 'kafka', 'qdrant', 'redis']) {
      if (!roles[role]) problems.push(`rss_mb.${role} is missing`);
      else if (!finite(roles[role].idle) || !finite(roles[role].peak)) problems.push(`rss_mb.${role} needs finite idle and peak`);
    }
  }
  return problems;
}

const f = (x: number | null | undefined, digits = 2): string => (finite(x) ? x.toFixed(digits) : 'not measured');

/** The human-readable report; every figure in it is read from `report`. */
export function renderMarkdown(report: Report): string {
  const s = report.stamp;
  const lines: string[] = [];
  lines.push('# searchbus benchmark report', '');
  lines.push(`Commit \`${s.commit}\`, ${s.date}, ${s.cpu_model}, ${s.cores} cores, Node ${s.node}; load average ${s.load_average.start.map((x) => x.toFixed(1)).join(' / ')} at the start, ${s.load_average.end.map((x) => x.toFixed(1)).join(' / ')} at the end (1/5/15 min). Dataset: ${s.dataset}.`);
  lines.push('', 'Each ratio compares two paths measured side by side in this run (alternating where they can), so the load of the shared machine reaches both; absolute times are only as good as that load.', '');
  lines.push('| Figure | Value | Goal (issue 11) |', '|---|---|---|');
  const bus = report.bus_overhead_ms;
  lines.push(`| bus overhead, concurrency 1 (bus − direct), p50 / p99 | ${bus ? `${f(bus.c1.p50)} / ${f(bus.c1.p99)} ms` : 'not measured'} | ≤ 3 ms / ≤ 10 ms |`);
  lines.push(`| bus overhead, concurrency 16, p50 / p99 | ${bus ? `${f(bus.c16.p50)} / ${f(bus.c16.p99)} ms` : 'not measured'} | — |`);
  const t = report.bus_throughput_ratio;
  lines.push(`| throughput bus / direct, concurrency 16 / 64 | ${t ? `${f(t.c16)}× / ${f(t.c64)}×` : 'not measured'} | ≥ 1.0× |`);
  lines.push(`| encoder vs transformers.js (fp32) | ${f(report.encoder_vs_transformersjs)} | ≥ 1.15× |`);
  lines.push(`| encoder vs bare session.run | ${f(report.encoder_vs_session_run)} | ≥ 0.95× |`);
  lines.push(`| whole-corpus ingest vs the encoder alone | ${f(report.ingest_vs_encoder)} | ≥ 0.85× |`);
  const fr = report.freshness_ms;
  lines.push(`| freshness publish → searchable, p50 / p99 (at ${f(fr?.load_docs_per_s)} docs/s) | ${fr ? `${f(fr.p50, 0)} / ${f(fr.p99, 0)} ms` : 'not measured'} | ≤ 150 / ≤ 500 ms at half of peak ingest |`);
  lines.push(`| int8 vs fp32 speed | ${f(report.int8_speedup)} | ≥ 1.6× |`);
  lines.push(`| int8 nDCG@10 loss, SciFact train | ${f(report.int8_ndcg_loss, 4)} | ≤ 0.005 |`);
  if (report.rss_mb) {
    lines.push('', '**Resident memory (MB) and CPU (cores) during ingest, per process**', '', '| Process | RSS idle | RSS peak | CPU during ingest |', '|---|---|---|---|');
    for (const [role, m] of Object.entries(report.rss_mb)) lines.push(`| ${role} | ${f(m.idle, 0)} | ${f(m.peak, 0)} | ${f(report.cpu_cores_during_ingest?.[role])} |`);
  }
  const ingestPart = report.details.ingest;
  const hops = ingestPart && !failed(ingestPart) ? ingestPart.freshness_hops : undefined;
  if (hops) {
    lines.push(
      '',
      '**Freshness, hop by hop** (means over the freshness run; the encoder\'s side from its own histograms)',
      '',
      '| Hop | mean ms |',
      '|---|---|',
      `| publish → retrievable (measured here, polled every 5 ms) | ${f(hops.publish_to_retrievable_mean_ms, 1)} |`,
      `| record timestamp → Qdrant write acknowledged (encoder; ${hops.encoder_record_to_written.count} documents) | ${f(hops.encoder_record_to_written.mean_ms, 1)} |`,
      `| handling one batch: embed + Qdrant upsert (${hops.encoder_handle_per_batch.count} batches of ${f(hops.encoder_batch_size_mean, 2)} documents on average) | ${f(hops.encoder_handle_per_batch.mean_ms, 1)} |`,
    );
    const b = hops.small_batch;
    if (b) {
      lines.push(
        '',
        `A batch of ${b.documents} through the encoder's indexing code (\`indexDocuments\`) in the benchmark's process afterwards, p50 of 20: embed ${f(b.embed_p50_ms, 1)} ms, Qdrant upsert ${f(b.qdrant_upsert_p50_ms, 1)} ms, Qdrant delete of stale chunks ${f(b.qdrant_delete_p50_ms, 1)} ms, whole batch ${f(b.batch_p50_ms, 1)} ms.`,
      );
    }
  }
  const busPart = report.details.bus;
  if (busPart && !failed(busPart)) {
    lines.push('', `**One search, hop by hop** (${busPart.trace.searches} searches at concurrency 1, each paired with a direct one)`, '', '| Hop | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|');
    for (const h of busPart.trace.hops) lines.push(`| ${h.hop} | ${f(h.p50)} | ${f(h.p90)} | ${f(h.p99)} |`);
    lines.push(`| direct (embed + Qdrant + collapse in-process) | ${f(busPart.trace.direct_ms.p50)} | | ${f(busPart.trace.direct_ms.p99)} |`);
    lines.push('', '| Concurrency | bus p50 / p99 ms | direct p50 / p99 ms | bus req/s | direct req/s | ratio |', '|---|---|---|---|---|---|');
    for (const l of busPart.levels) lines.push(`| ${l.concurrency} | ${f(l.bus.p50)} / ${f(l.bus.p99)} | ${f(l.direct.p50)} / ${f(l.direct.p99)} | ${f(l.bus.qps, 1)} | ${f(l.direct.qps, 1)} | ${f(l.bus.qps / l.direct.qps)}× |`);
  }
  const k = report.details.kafkajs;
  if (k && !failed(k)) {
    const idle = (k.idle ?? []) as Array<{ label: string; timer_callbacks_per_s: number; cpu_ms_per_s: number }>;
    const latency = (k.latency ?? []) as Array<{ variant: string; produce_to_each_batch_ms: Percentiles; send_to_append_ms: Percentiles; append_to_each_batch_ms: Percentiles; produce_ack_ms: Percentiles }>;
    const java = k.java_baseline as { produce_to_poll_ms?: Percentiles; send_to_append_ms?: Percentiles; append_to_poll_ms?: Percentiles } | undefined;
    lines.push('', '**kafkajs on its own** (test/bench/kafkajs-floor.ts: bare kafkajs, no searchbus code)', '', '| Idle process, producer + consumer connected | timer callbacks/s | CPU ms/s |', '|---|---|---|');
    for (const i of idle) lines.push(`| ${i.label} | ${f(i.timer_callbacks_per_s, 0)} | ${f(i.cpu_ms_per_s, 1)} |`);
    lines.push('', '| Produce → consume, one record at a time | total p50 / p99 ms | send → broker append p50 | append → delivered p50 | produce ack p50 |', '|---|---|---|---|---|');
    for (const l of latency) lines.push(`| kafkajs: ${l.variant} | ${f(l.produce_to_each_batch_ms.p50)} / ${f(l.produce_to_each_batch_ms.p99)} | ${f(l.send_to_append_ms.p50)} | ${f(l.append_to_each_batch_ms.p50)} | ${f(l.produce_ack_ms.p50)} |`);
    if (java?.produce_to_poll_ms) lines.push(`| Java kafka-clients (the broker's own client) | ${f(java.produce_to_poll_ms.p50)} / ${f(java.produce_to_poll_ms.p99)} | ${f(java.send_to_append_ms?.p50)} | ${f(java.append_to_poll_ms?.p50)} | — |`);
  }
  const e = report.details.edge;
  if (e && !failed(e)) {
    const rows = (e.rows ?? {}) as Record<string, { before_ms: number; after_ms: number; speedup: number }>;
    lines.push('', `**Qdrant Edge server hot path** (test/bench/edge-hot-path.py, ${String(e.points)} points × ${String(e.dims)} floats; before = the previous code, kept in the benchmark)`, '', '| Step | before ms | after ms | speed-up |', '|---|---|---|---|');
    for (const [name, row] of Object.entries(rows)) lines.push(`| ${name} | ${f(row.before_ms, 3)} | ${f(row.after_ms, 3)} | ${f(row.speedup, 1)}× |`);
  }
  if (Object.keys(report.not_measured).length > 0) {
    lines.push('', '**Not measured in this run**', '');
    for (const [key, reason] of Object.entries(report.not_measured)) lines.push(`- \`${key}\`: ${reason}`);
  }
  return `${lines.join('\n')}\n`;
}
