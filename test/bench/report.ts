// The benchmark report: what `npm run bench` (test/bench/run-all.ts) writes, built from the JSON
// each benchmark wrote: test/bench/report.json, the generated section of docs/benchmarks.md
// (between REPORT_SECTION_START and REPORT_SECTION_END; the rest of the page is left as it is) and
// the chart docs/benchmarks/report-ratios.svg. Pure functions but for writeReportOutputs, so the
// shape is unit-tested on real runs' outputs (test/fixtures/bench/) without timing anything.
// A figure a benchmark did not produce is null, with the reason under `not_measured`; never a guess.
// `node --import tsx test/bench/report.ts` renders the page section and the chart again from the
// committed report.json (after a change to the rendering), without running any benchmark.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  /** read-your-writes.ts: kept in the details only (no headline key). */
  after?: Record<string, unknown> | Failure;
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
  trace: {
    hops: Array<{ hop: string; p50: number; p90: number; p99: number }>;
    bus_ms: Percentiles;
    direct_ms: Percentiles;
    searches: number;
  };
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
    small_batch?: {
      documents: number;
      embed_p50_ms: number;
      qdrant_upsert_p50_ms: number;
      qdrant_delete_p50_ms: number;
      batch_p50_ms: number;
    };
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
    const reason =
      part === undefined ? `${name} did not run` : failed(part) ? `${name} failed: ${part.failed}` : `${name} did not report it`;
    for (const key of keys) notMeasured[key] = reason;
  };

  const bus = parts.bus && !failed(parts.bus) ? parts.bus : undefined;
  if (!bus) missing(['bus_overhead_ms', 'bus_throughput_ratio'], parts.bus, 'test/bench/bus-overhead.ts');

  const ingest = parts.ingest && !failed(parts.ingest) ? parts.ingest : undefined;
  if (!ingest)
    missing(['ingest_vs_encoder', 'freshness_ms', 'rss_mb', 'cpu_cores_during_ingest'], parts.ingest, 'test/bench/ingest-report.ts');

  const encoder = parts.encoder && !failed(parts.encoder) ? parts.encoder : undefined;
  const encoderFigures: Record<string, number | null> = {};
  for (const key of ENCODER_KEYS) {
    const value = encoder?.[key];
    encoderFigures[key] = finite(value) ? value : null;
    if (!finite(value))
      missing([key], parts.encoder, 'the encoder-speed benchmark (a test/bench script naming these keys, run with --json)');
    // A benchmark that knows why it left a key out (and where the figure was measured) says so.
    const own = encoder?.[`${key}_not_measured`];
    if (!finite(value) && typeof own === 'string') notMeasured[key] = own;
  }

  return {
    stamp,
    bus_overhead_ms: bus ? { c1: pick(bus.bus_overhead_ms.c1), c16: pick(bus.bus_overhead_ms.c16) } : null,
    bus_throughput_ratio: bus ? { c16: bus.bus_throughput_ratio.c16, c64: bus.bus_throughput_ratio.c64 } : null,
    encoder_vs_transformersjs: encoderFigures.encoder_vs_transformersjs ?? null,
    encoder_vs_session_run: encoderFigures.encoder_vs_session_run ?? null,
    ingest_vs_encoder: ingest ? ingest.ingest_vs_encoder : null,
    freshness_ms: ingest
      ? { p50: ingest.freshness_ms.p50, p99: ingest.freshness_ms.p99, load_docs_per_s: ingest.freshness_ms.load_docs_per_s }
      : null,
    int8_speedup: encoderFigures.int8_speedup ?? null,
    int8_ndcg_loss: encoderFigures.int8_ndcg_loss ?? null,
    rss_mb: ingest ? ingest.rss_mb : null,
    cpu_cores_during_ingest: ingest
      ? Object.fromEntries(Object.entries(ingest.cpu_cores_during_ingest).map(([k, v]) => [k, v.cores]))
      : null,
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
  for (const key of ['commit', 'date', 'cpu_model', 'cores', 'load_average'])
    if (stamp?.[key] === undefined) problems.push(`stamp.${key} is missing`);
  const numbers = (key: string, paths: string[][]): void => {
    if (!(key in r)) return void problems.push(`${key} is missing`);
    if (r[key] === null) {
      if (typeof notMeasured[key] !== 'string') problems.push(`${key} is null without a reason in not_measured`);
      return;
    }
    for (const path of paths) {
      const value = path.reduce<unknown>(
        (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
        r[key],
      );
      if (!finite(value)) problems.push(`${[key, ...path].join('.')} is not a finite number`);
    }
  };
  numbers('bus_overhead_ms', [
    ['c1', 'p50'],
    ['c1', 'p99'],
    ['c16', 'p50'],
    ['c16', 'p99'],
  ]);
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

/**
 * The int8 loss takes whole-pipeline evals of SciFact train, so a run usually leaves it out; the
 * encoder benchmark then names the figure measured elsewhere (`int8_ndcg_loss_reference`), shown
 * as such, never as this run's.
 */
function int8NdcgCell(report: Report): string {
  if (finite(report.int8_ndcg_loss)) return f(report.int8_ndcg_loss, 4);
  const encoder = report.details.encoder;
  const reference =
    encoder && !failed(encoder) ? (encoder.int8_ndcg_loss_reference as { value?: unknown; what?: unknown } | undefined) : undefined;
  if (reference && finite(reference.value))
    return `not in this run; ${reference.value.toFixed(4)} measured separately (${String(reference.what)}, see below)`;
  return 'not measured';
}

/**
 * The human-readable report, as the generated section of docs/benchmarks.md (no heading of its
 * own: the page gives it one); every figure in it is read from `report`. `chart` is the path of
 * the ratio chart relative to the page, when there is one.
 */
export function renderSection(report: Report, options: { chart?: string } = {}): string {
  const s = report.stamp;
  const lines: string[] = [];
  lines.push(
    `Commit \`${s.commit}\`, ${s.date}, ${s.cpu_model}, ${s.cores} cores, Node ${s.node}; load average ${s.load_average.start.map((x) => x.toFixed(1)).join(' / ')} at the start, ${s.load_average.end.map((x) => x.toFixed(1)).join(' / ')} at the end (1/5/15 min). Dataset: ${s.dataset}.`,
  );
  lines.push(
    '',
    'Each ratio compares two paths measured side by side in this run (alternating where they can), so the load of the shared machine reaches both; absolute times are only as good as that load.',
    '',
  );
  lines.push('| Figure | Value | Goal (issue 11) |', '|---|---|---|');
  const bus = report.bus_overhead_ms;
  lines.push(
    `| bus overhead, concurrency 1 (bus − direct), p50 / p99 | ${bus ? `${f(bus.c1.p50)} / ${f(bus.c1.p99)} ms` : 'not measured'} | ≤ 3 ms / ≤ 10 ms |`,
  );
  lines.push(`| bus overhead, concurrency 16, p50 / p99 | ${bus ? `${f(bus.c16.p50)} / ${f(bus.c16.p99)} ms` : 'not measured'} | — |`);
  const t = report.bus_throughput_ratio;
  lines.push(`| throughput bus / direct, concurrency 16 / 64 | ${t ? `${f(t.c16)}× / ${f(t.c64)}×` : 'not measured'} | ≥ 1.0× |`);
  lines.push(`| encoder vs transformers.js (fp32) | ${f(report.encoder_vs_transformersjs)} | ≥ 1.15× |`);
  lines.push(`| encoder vs bare session.run | ${f(report.encoder_vs_session_run)} | ≥ 0.95× |`);
  lines.push(`| whole-corpus ingest vs the encoder alone | ${f(report.ingest_vs_encoder)} | ≥ 0.85× |`);
  const fr = report.freshness_ms;
  lines.push(
    `| freshness publish → searchable, p50 / p99 (at ${f(fr?.load_docs_per_s)} docs/s) | ${fr ? `${f(fr.p50, 0)} / ${f(fr.p99, 0)} ms` : 'not measured'} | ≤ 150 / ≤ 500 ms at half of peak ingest |`,
  );
  lines.push(`| int8 vs fp32 speed | ${f(report.int8_speedup)} | ≥ 1.6× |`);
  lines.push(`| int8 nDCG@10 loss, SciFact train | ${int8NdcgCell(report)} | ≤ 0.005 |`);
  if (options.chart) lines.push('', `![The ratios of the table against their goals, drawn from report.json](${options.chart})`);
  if (report.rss_mb) {
    lines.push(
      '',
      '**Resident memory (MB) and CPU (cores) during ingest, per process**',
      '',
      '| Process | RSS idle | RSS peak | CPU during ingest |',
      '|---|---|---|---|',
    );
    for (const [role, m] of Object.entries(report.rss_mb))
      lines.push(`| ${role} | ${f(m.idle, 0)} | ${f(m.peak, 0)} | ${f(report.cpu_cores_during_ingest?.[role])} |`);
  }
  const ingestPart = report.details.ingest;
  const hops = ingestPart && !failed(ingestPart) ? ingestPart.freshness_hops : undefined;
  if (hops) {
    lines.push(
      '',
      "**Freshness, hop by hop** (means over the freshness run; the encoder's side from its own histograms)",
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
    lines.push(
      '',
      `**One search, hop by hop** (${busPart.trace.searches} searches at concurrency 1, each paired with a direct one)`,
      '',
      '| Hop | p50 ms | p90 ms | p99 ms |',
      '|---|---|---|---|',
    );
    for (const h of busPart.trace.hops) lines.push(`| ${h.hop} | ${f(h.p50)} | ${f(h.p90)} | ${f(h.p99)} |`);
    lines.push(
      `| direct (embed + Qdrant + collapse in-process) | ${f(busPart.trace.direct_ms.p50)} | | ${f(busPart.trace.direct_ms.p99)} |`,
    );
    lines.push(
      '',
      '| Concurrency | bus p50 / p99 ms | direct p50 / p99 ms | bus req/s | direct req/s | ratio |',
      '|---|---|---|---|---|---|',
    );
    for (const l of busPart.levels)
      lines.push(
        `| ${l.concurrency} | ${f(l.bus.p50)} / ${f(l.bus.p99)} | ${f(l.direct.p50)} / ${f(l.direct.p99)} | ${f(l.bus.qps, 1)} | ${f(l.direct.qps, 1)} | ${f(l.bus.qps / l.direct.qps)}× |`,
      );
  }
  const k = report.details.kafkajs;
  if (k && !failed(k)) {
    const idle = (k.idle ?? []) as Array<{ label: string; timer_callbacks_per_s: number; cpu_ms_per_s: number }>;
    const latency = (k.latency ?? []) as Array<{
      variant: string;
      produce_to_each_batch_ms: Percentiles;
      send_to_append_ms: Percentiles;
      append_to_each_batch_ms: Percentiles;
      produce_ack_ms: Percentiles;
    }>;
    const java = k.java_baseline as
      { produce_to_poll_ms?: Percentiles; send_to_append_ms?: Percentiles; append_to_poll_ms?: Percentiles } | undefined;
    lines.push(
      '',
      '**kafkajs on its own** (test/bench/kafkajs-floor.ts: bare kafkajs, no searchbus code)',
      '',
      '| Idle process, producer + consumer connected | timer callbacks/s | CPU ms/s |',
      '|---|---|---|',
    );
    for (const i of idle) lines.push(`| ${i.label} | ${f(i.timer_callbacks_per_s, 0)} | ${f(i.cpu_ms_per_s, 1)} |`);
    lines.push(
      '',
      '| Produce → consume, one record at a time | total p50 / p99 ms | send → broker append p50 | append → delivered p50 | produce ack p50 |',
      '|---|---|---|---|---|',
    );
    for (const l of latency)
      lines.push(
        `| kafkajs: ${l.variant} | ${f(l.produce_to_each_batch_ms.p50)} / ${f(l.produce_to_each_batch_ms.p99)} | ${f(l.send_to_append_ms.p50)} | ${f(l.append_to_each_batch_ms.p50)} | ${f(l.produce_ack_ms.p50)} |`,
      );
    if (java?.produce_to_poll_ms)
      lines.push(
        `| Java kafka-clients (the broker's own client) | ${f(java.produce_to_poll_ms.p50)} / ${f(java.produce_to_poll_ms.p99)} | ${f(java.send_to_append_ms?.p50)} | ${f(java.append_to_poll_ms?.p50)} | — |`,
      );
  }
  const e = report.details.edge;
  if (e && !failed(e)) {
    const rows = (e.rows ?? {}) as Record<string, { before_ms: number; after_ms: number; speedup: number }>;
    lines.push(
      '',
      `**Qdrant Edge server hot path** (test/bench/edge-hot-path.py, ${String(e.points)} points × ${String(e.dims)} floats; before = the previous code, kept in the benchmark)`,
      '',
      '| Step | before ms | after ms | speed-up |',
      '|---|---|---|---|',
    );
    for (const [name, row] of Object.entries(rows))
      lines.push(`| ${name} | ${f(row.before_ms, 3)} | ${f(row.after_ms, 3)} | ${f(row.speedup, 1)}× |`);
  }
  if (Object.keys(report.not_measured).length > 0) {
    lines.push('', '**Not measured in this run**', '');
    for (const [key, reason] of Object.entries(report.not_measured)) lines.push(`- \`${key}\`: ${reason}`);
  }
  return `${lines.join('\n')}\n`;
}

export const REPORT_SECTION_START = '<!-- bench:report:start -->';
export const REPORT_SECTION_END = '<!-- bench:report:end -->';

/**
 * `page` with everything between the two markers replaced by `section`, and nothing else touched.
 * Throws unless each marker is there exactly once, the start before the end: a page whose markers
 * were edited away is never rewritten blindly.
 */
export function spliceSection(page: string, section: string): string {
  const count = (marker: string): number => page.split(marker).length - 1;
  for (const marker of [REPORT_SECTION_START, REPORT_SECTION_END]) {
    if (count(marker) !== 1) throw new Error(`the page must hold ${marker} exactly once (found ${count(marker)})`);
  }
  const start = page.indexOf(REPORT_SECTION_START) + REPORT_SECTION_START.length;
  const end = page.indexOf(REPORT_SECTION_END);
  if (end < start) throw new Error(`${REPORT_SECTION_END} comes before ${REPORT_SECTION_START}`);
  return `${page.slice(0, start)}\n\n${section.trim()}\n\n${page.slice(end)}`;
}

/** The generated section of a page (between the markers), or null when it has none. */
export function sectionOf(page: string): string | null {
  const start = page.indexOf(REPORT_SECTION_START);
  const end = page.indexOf(REPORT_SECTION_END);
  if (start < 0 || end < start) return null;
  return page.slice(start + REPORT_SECTION_START.length, end).trim();
}

/** The figures of the chart: ratios with a goal they should reach or pass (issue 11). */
export function ratioRows(report: Report): Array<{ label: string; value: number | null; goal: number }> {
  const t = report.bus_throughput_ratio;
  return [
    { label: 'throughput bus / direct, concurrency 16', value: t?.c16 ?? null, goal: 1.0 },
    { label: 'throughput bus / direct, concurrency 64', value: t?.c64 ?? null, goal: 1.0 },
    { label: 'encoder vs transformers.js (fp32)', value: report.encoder_vs_transformersjs, goal: 1.15 },
    { label: 'encoder vs bare session.run', value: report.encoder_vs_session_run, goal: 0.95 },
    { label: 'whole-corpus ingest vs the encoder alone', value: report.ingest_vs_encoder, goal: 0.85 },
    { label: 'int8 vs fp32 speed', value: report.int8_speedup, goal: 1.6 },
  ];
}

const xml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The ratios of the report against their goals, as an SVG bar chart: one bar per ratio (green when
 * it meets its goal, red when not, and the words "met" / "missed" beside it, so colour is not the
 * only cue), a dashed mark at the goal, "not measured" for a null. Hand-written SVG: no charting
 * library is among the dependencies, and a dozen deterministic elements need none; the output is
 * byte-stable for one report.json, so the committed chart can be checked against it.
 */
export function renderRatioChart(report: Report): string {
  const rows = ratioRows(report);
  const width = 860;
  const labelRight = 300;
  const barLeft = 310;
  const barWidth = 330;
  const top = 46;
  const rowHeight = 30;
  const highest = Math.max(...rows.flatMap((r) => (finite(r.value) ? [r.value, r.goal] : [r.goal])));
  const scaleMax = Math.ceil((highest * 1.1) / 0.5) * 0.5;
  const x = (v: number): number => barLeft + (Math.max(0, v) / scaleMax) * barWidth;
  const height = top + rows.length * rowHeight + 46;
  const n = (v: number): string => v.toFixed(1);
  const title = `Ratios against their goals: commit ${report.stamp.commit.slice(0, 7)}, ${report.stamp.date.slice(0, 10)}, load ${report.stamp.load_average.start[0]?.toFixed(1) ?? '?'} at the start`;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="title" font-family="sans-serif" font-size="13">`,
  );
  out.push(`  <title id="title">${xml(title)}</title>`);
  out.push(`  <rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`  <text x="10" y="22" font-size="15" font-weight="bold" fill="#222222">${xml(title)}</text>`);
  for (let tick = 0; tick <= scaleMax + 1e-9; tick += 0.5) {
    out.push(`  <line x1="${n(x(tick))}" y1="${top - 8}" x2="${n(x(tick))}" y2="${top + rows.length * rowHeight}" stroke="#dddddd"/>`);
    out.push(
      `  <text x="${n(x(tick))}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#555555">${tick.toFixed(1)}×</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    out.push(`  <text x="${labelRight}" y="${y + 18}" text-anchor="end" fill="#222222">${xml(row.label)}</text>`);
    if (finite(row.value)) {
      const met = row.value >= row.goal;
      out.push(
        `  <rect x="${barLeft}" y="${y + 6}" width="${n(x(row.value) - barLeft)}" height="16" fill="${met ? '#2e7d32' : '#c62828'}"/>`,
      );
      out.push(
        `  <text x="${n(Math.max(x(row.value), x(row.goal)) + 6)}" y="${y + 18}" fill="#222222">${row.value.toFixed(2)}× (goal ${row.goal.toFixed(2)}×, ${met ? 'met' : 'missed'})</text>`,
      );
    } else {
      out.push(`  <text x="${n(x(row.goal) + 6)}" y="${y + 18}" fill="#555555">not measured (goal ${row.goal.toFixed(2)}×)</text>`);
    }
    out.push(
      `  <line x1="${n(x(row.goal))}" y1="${y + 2}" x2="${n(x(row.goal))}" y2="${y + 26}" stroke="#222222" stroke-width="2" stroke-dasharray="3,2"/>`,
    );
  });
  out.push(
    `  <text x="10" y="${height - 10}" fill="#555555">Bars: measured side by side in one run (test/bench/report.json); dashed marks: the goals. Green: met, red: missed.</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the committed outputs live. */
export const REPORT_PATHS = {
  json: resolve(ROOT, 'test/bench/report.json'),
  page: resolve(ROOT, 'docs/benchmarks.md'),
  chart: resolve(ROOT, 'docs/benchmarks/report-ratios.svg'),
} as const;

/** A path relative to the page that links it, with forward slashes as markdown wants. */
export const linkFrom = (page: string, target: string): string => relative(dirname(page), target).split(sep).join('/');

/**
 * Writes the report: the JSON (when `json` is given), the chart, and the generated section into
 * `page` between its markers (the page must exist and hold them; the rest of it is kept).
 */
export async function writeReportOutputs(report: Report, paths: { json?: string; page: string; chart: string }): Promise<void> {
  if (paths.json) await writeFile(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(paths.chart, renderRatioChart(report));
  const page = await readFile(paths.page, 'utf8');
  await writeFile(paths.page, spliceSection(page, renderSection(report, { chart: linkFrom(paths.page, paths.chart) })));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Re-render the page section and the chart from the committed report.json.
  const report = JSON.parse(await readFile(REPORT_PATHS.json, 'utf8')) as Report;
  await writeReportOutputs(report, { page: REPORT_PATHS.page, chart: REPORT_PATHS.chart });
  process.stderr.write(
    `rendered ${relative(ROOT, REPORT_PATHS.page)} (between the bench:report markers) and ${relative(ROOT, REPORT_PATHS.chart)} from ${relative(ROOT, REPORT_PATHS.json)}\n`,
  );
}
