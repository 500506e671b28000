import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPlot } from '../../bench/scale/plot.ts';
import { renderSection, type Figures, type ScaleReport } from '../../bench/scale/report.ts';

// The scale report's table, goals and plot from hand-made figures: nothing here is timed.
const figures = (p99: number, write: number, rss: number): Figures => ({
  search_ms: { dense: { p50: p99 / 2, p99 }, hybrid: { p50: p99 / 2, p99: p99 + 1 } },
  search_errors: 0,
  qdrant_rss_mb: rss,
  qdrant_rss_file_mb: rss / 2,
  qdrant_disk_mb: rss * 2,
  write_docs_per_s: write,
  loader_points_per_s: 1000,
  points: 1,
  indexed_vectors: 1,
  index_wait_ms: null,
  measured_at: '2026-12-08T00:40:00.000Z',
  load: [12.5, 10, 9],
});
const report = (sizes: ScaleReport['sizes']): ScaleReport => ({
  sizes,
  commit: 'abc',
  date: '2026-12-08T00:00:00.000Z',
  load: { start: [1, 2, 3], end: [4, 5, 6] },
  machine: '2 cores',
  model: 'all-minilm-l6-v2',
  sample_documents: 10,
  searches_per_figure: 20,
  burst_documents: 5,
  notes: ['a note'],
});

describe('scale report', () => {
  it('says which goal is met at 1M against 10k', () => {
    const section = renderSection(
      report({
        '10000': { ...figures(10, 10, 100), quantized: figures(10, 10, 90) },
        '1000000': { ...figures(30, 9, 3000), quantized: figures(15, 7, 2000) },
      }),
    );
    assert.match(section, /dense, quantization none: 30 ms vs 10 ms = 3\.00×: \*\*not met\*\*/);
    assert.match(section, /dense, quantization int8: 15 ms vs 10 ms = 1\.50×: \*\*met\*\*/);
    assert.match(section, /Write rate at 1M ≥ 0\.8× at 10k, quantization none: 9 vs 10 docs\/s = 0\.90×: \*\*met\*\*/);
    assert.match(section, /quantization int8: 7 vs 10 docs\/s = 0\.70×: \*\*not met\*\*/);
    assert.match(section, /3,000 MiB without quantization, 2,000 MiB with int8; goal ≤ 2\.5 GB quantized: \*\*met\*\*/);
    assert.match(section, /not within 120 s \| 0 \| 00:40, 12\.5 \|/);
    assert.match(section, /- a note/);
  });

  it('calls the goals not measured when 1M did not run', () => {
    const section = renderSection(report({ '10000': { ...figures(10, 10, 100), quantized: null } }));
    assert.equal(section.match(/\*\*not measured\*\*/g)?.length, 3);
    assert.doesNotMatch(section, /\| 10,000 \| int8 \|/);
  });

  it('plots one point per size and series', () => {
    const svg = renderPlot(
      report({
        '10000': { ...figures(10, 10, 100), quantized: figures(10, 10, 90) },
        '100000': { ...figures(20, 10, 200), quantized: null },
      }),
    );
    assert.match(svg, /^<svg /);
    // none: dense, hybrid, RSS at both sizes; int8: the same at 10k only.
    assert.equal(svg.match(/<circle /g)?.length, 3 * 2 + 3);
    assert.match(svg, />100,000</);
  });
});
