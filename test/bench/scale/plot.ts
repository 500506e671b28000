// The plot of docs/benchmarks/scale.md: search p99 and the engine's memory against the number of
// points. Written as SVG by hand: a few polylines, axes and labels need no library, and the
// charting libraries on npm either need a DOM (d3, Chart.js) or a browser to render (Vega), which a
// benchmark run should not pull in.
import { writeFile } from 'node:fs/promises';
import type { ScaleReport } from './report.ts';

const PLOT_PATH = new URL('../../../docs/benchmarks/scale.svg', import.meta.url);

interface Series {
  label: string;
  colour: string;
  dashed: boolean;
  points: Array<[number, number]>;
}

const WIDTH = 460;
const HEIGHT = 320;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function panel(title: string, yLabel: string, series: Series[], sizes: number[], offsetX: number): string {
  const w = WIDTH - MARGIN.left - MARGIN.right;
  const h = HEIGHT - MARGIN.top - MARGIN.bottom;
  const logs = sizes.map(Math.log10);
  const [lo, hi] = [Math.min(...logs), Math.max(...logs)];
  const x = (n: number): number => MARGIN.left + (hi === lo ? w / 2 : ((Math.log10(n) - lo) / (hi - lo)) * w);
  const top = Math.max(1, ...series.flatMap((s) => s.points.map(([, v]) => v))) * 1.1;
  const y = (v: number): number => MARGIN.top + h - (v / top) * h;
  const parts = [
    `<g transform="translate(${offsetX},0)">`,
    `<text x="${MARGIN.left + w / 2}" y="20" text-anchor="middle" font-weight="bold">${escape(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + h}" x2="${MARGIN.left + w}" y2="${MARGIN.top + h}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + h}" stroke="#333"/>`,
    `<text transform="translate(16,${MARGIN.top + h / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
    `<text x="${MARGIN.left + w / 2}" y="${HEIGHT - 8}" text-anchor="middle">points (log scale)</text>`,
  ];
  for (const n of sizes)
    parts.push(`<text x="${x(n)}" y="${MARGIN.top + h + 18}" text-anchor="middle">${n.toLocaleString('en-US')}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (top / 4) * i;
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y(v)}" x2="${MARGIN.left + w}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  series.forEach((s, i) => {
    const path = s.points.map(([n, v]) => `${x(n).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      ...s.points.map(([n, v]) => `<circle cx="${x(n).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.colour}"/>`),
      `<text x="${MARGIN.left + 8}" y="${MARGIN.top + 14 + i * 15}" fill="${s.colour}">${escape(s.label)}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('\n');
}

export function renderPlot(report: ScaleReport): string {
  const sizes = Object.keys(report.sizes)
    .map(Number)
    .sort((a, b) => a - b);
  const pick = (
    quantized: boolean,
    value: (f: NonNullable<ScaleReport['sizes'][string]['quantized']>) => number | null,
  ): Array<[number, number]> =>
    sizes.flatMap((n) => {
      const figures = quantized ? report.sizes[String(n)]!.quantized : report.sizes[String(n)]!;
      const v = figures ? value(figures) : null;
      return v === null ? [] : [[n, v] as [number, number]];
    });
  const latency: Series[] = [];
  const memory: Series[] = [];
  for (const [quantized, name, dashed] of [
    [false, 'none', false],
    [true, 'int8', true],
  ] as const) {
    latency.push(
      { label: `dense p99, ${name}`, colour: '#1f77b4', dashed, points: pick(quantized, (f) => f.search_ms.dense.p99) },
      { label: `hybrid p99, ${name}`, colour: '#d62728', dashed, points: pick(quantized, (f) => f.search_ms.hybrid.p99) },
    );
    memory.push({ label: `Qdrant RSS, ${name}`, colour: '#2ca02c', dashed, points: pick(quantized, (f) => f.qdrant_rss_mb) });
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH * 2}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel('Search p99 through the bus (ms)', 'ms', latency, sizes, 0),
    panel('Qdrant resident memory (MiB)', 'MiB', memory, sizes, WIDTH),
    '</svg>',
    '',
  ].join('\n');
}

export async function writePlot(report: ScaleReport): Promise<void> {
  await writeFile(PLOT_PATH, renderPlot(report));
}
