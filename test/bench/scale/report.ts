// test/bench/scale-report.json (the shape issue 23 gives) and the generated part of
// docs/benchmarks/scale.md: the table and the goals, each met, not met or not measured.
import { readFile, writeFile } from 'node:fs/promises';
import type { Latency } from './measure.ts';

export interface Figures {
  search_ms: { dense: Latency; hybrid: Latency };
  search_errors: number;
  qdrant_rss_mb: number | null;
  /** The part of qdrant_rss_mb that is file pages (memory-mapped storage). */
  qdrant_rss_file_mb: number | null;
  qdrant_disk_mb: number | null;
  /** Documents per second through the bus (IngestProducer -> encoder group -> Qdrant), in a burst at this size. */
  write_docs_per_s: number;
  /** Points per second of the direct loader (Qdrant client) on its way to this size. */
  loader_points_per_s: number;
  points: number;
  indexed_vectors: number;
  /** From the end of the load until the collection said green with every vector indexed. */
  index_wait_ms: number | null;
  /** When this size was measured, and the load averages (1, 5, 15 min) then. */
  measured_at?: string;
  load?: number[];
}

export interface ScaleReport {
  sizes: Record<string, Figures & { quantized: Figures | null }>;
  commit: string;
  date: string;
  /** Load averages (1, 5, 15 min) when the run started and when it ended. */
  load: { start: number[]; end: number[] };
  machine: string;
  model: string;
  sample_documents: number;
  searches_per_figure: number;
  burst_documents: number;
  notes: string[];
}

const REPORT_PATH = new URL('../scale-report.json', import.meta.url);
const PAGE = new URL('../../../docs/benchmarks/scale.md', import.meta.url);
const START = '<!-- scale:report:start -->';
const END = '<!-- scale:report:end -->';

const fmt = (x: number | null | undefined, digits = 0): string =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits });

function tableRows(report: ScaleReport): string[] {
  const rows: string[] = [];
  for (const [size, figures] of Object.entries(report.sizes)) {
    for (const [variant, f] of [
      ['none', figures],
      ['int8', figures.quantized],
    ] as const) {
      if (!f) continue;
      rows.push(
        `| ${fmt(Number(size))} | ${variant} | ${fmt(f.search_ms.dense.p50, 1)} / ${fmt(f.search_ms.dense.p99, 1)} | ` +
          `${fmt(f.search_ms.hybrid.p50, 1)} / ${fmt(f.search_ms.hybrid.p99, 1)} | ${fmt(f.qdrant_rss_mb)} (${fmt(f.qdrant_rss_file_mb)}) | ${fmt(f.qdrant_disk_mb)} | ` +
          `${fmt(f.write_docs_per_s, 1)} | ${fmt(f.loader_points_per_s)} | ${fmt(f.indexed_vectors)} of ${fmt(f.points)} | ${f.index_wait_ms === null ? 'not within 120 s' : fmt(f.index_wait_ms)} | ${f.search_errors} | ${f.measured_at?.slice(11, 16) ?? '–'}, ${f.load?.[0] ?? '–'} |`,
      );
    }
  }
  return rows;
}

type Verdict = string;
const verdict = (ok: boolean): Verdict => (ok ? '**met**' : '**not met**');

function goals(report: ScaleReport): string[] {
  const small = report.sizes['10000'];
  const large = report.sizes['1000000'];
  const lines: string[] = [];
  if (!small || !large) {
    lines.push(`- Search p99 at 1M ≤ 2× at 10k: **not measured** (sizes run: ${Object.keys(report.sizes).join(', ')}).`);
    lines.push('- Write rate at 1M ≥ 0.8× at 10k: **not measured** (as above).');
    lines.push('- Memory per million 384-d points ≤ 2.5 GB quantized: **not measured** at 1M.');
    return lines;
  }
  for (const [variant, s, l] of [
    ['none', small, large],
    ['int8', small.quantized, large.quantized],
  ] as const) {
    if (!s || !l) continue;
    for (const mode of ['dense', 'hybrid'] as const) {
      const ratio = l.search_ms[mode].p99 / s.search_ms[mode].p99;
      lines.push(
        `- Search p99 at 1M ≤ 2× at 10k, ${mode}, quantization ${variant}: ${fmt(l.search_ms[mode].p99, 1)} ms vs ` +
          `${fmt(s.search_ms[mode].p99, 1)} ms = ${ratio.toFixed(2)}×: ${verdict(ratio <= 2)}.`,
      );
    }
    const write = l.write_docs_per_s / s.write_docs_per_s;
    lines.push(
      `- Write rate at 1M ≥ 0.8× at 10k, quantization ${variant}: ${fmt(l.write_docs_per_s, 1)} vs ${fmt(s.write_docs_per_s, 1)} docs/s = ${write.toFixed(2)}×: ${verdict(write >= 0.8)}.`,
    );
  }
  const rss = large.quantized?.qdrant_rss_mb;
  lines.push(
    `- Memory per million 384-d points (the engine's resident memory at 1M): ${fmt(large.qdrant_rss_mb)} MiB without quantization, ` +
      `${fmt(rss)} MiB with int8; goal ≤ 2.5 GB quantized: ${rss === null || rss === undefined ? '**not measured**' : verdict(rss * 2 ** 20 <= 2.5e9)}.`,
  );
  return lines;
}

export function renderSection(report: ScaleReport): string {
  return [
    START,
    `Written by commit \`${report.commit}\` on ${report.date} (${report.machine}), model \`${report.model}\`; load average ` +
      `${report.load.start.map((x) => x.toFixed(1)).join(' / ')} at the start of that run and ${report.load.end.map((x) => x.toFixed(1)).join(' / ')} at its end (1 / 5 / 15 min); ` +
      `each row says when it was measured and the 1-minute load then. ` +
      `${report.searches_per_figure} searches per latency figure (sequential, each filtered to one of 10 tenants); ` +
      `${report.sample_documents} SciFact abstracts through the bus as the sample; bursts of ${report.burst_documents} documents through the bus.`,
    '',
    '| Points | Quantization | Dense p50 / p99 ms | Hybrid p50 / p99 ms | Qdrant RSS MiB (of it file pages) | Qdrant disk MiB | Bus ingest docs/s | Direct loader points/s | Indexed vectors | Index ready after ms | Failed searches | Measured (UTC), load 1 min |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...tableRows(report),
    '',
    '![Search p99 and Qdrant memory by collection size](scale.svg)',
    '',
    ...goals(report),
    ...(report.notes.length > 0 ? ['', 'Noted by the run:', '', ...report.notes.map((n) => `- ${n}`)] : []),
    END,
  ].join('\n');
}

/** The report on disk, or null when there is none yet. */
export async function readReport(): Promise<ScaleReport | null> {
  const text = await readFile(REPORT_PATH, 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as ScaleReport);
}

export async function writeReport(report: ScaleReport): Promise<void> {
  await writeFile(REPORT_PATH, `${JSON.stringify(report, null, 2)}\n`);
  const page = await readFile(PAGE, 'utf8');
  const from = page.indexOf(START);
  const to = page.indexOf(END);
  if (from < 0 || to < 0) throw new Error(`${PAGE.pathname} has no ${START} … ${END} markers`);
  await writeFile(PAGE, page.slice(0, from) + renderSection(report) + page.slice(to + END.length));
}
