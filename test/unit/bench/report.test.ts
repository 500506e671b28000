import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  buildReport,
  linkFrom,
  ratioRows,
  renderRatioChart,
  renderSection,
  REPORT_PATHS,
  REPORT_SECTION_END,
  REPORT_SECTION_START,
  reportProblems,
  sectionOf,
  spliceSection,
  type Parts,
  type Report,
  type Stamp,
} from '../../bench/report.ts';

// The report's shape, built from what the benchmarks wrote in real runs (test/fixtures/bench/):
// nothing here is timed.
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/bench/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const stamp: Stamp = {
  commit: 'abc',
  date: '2026-11-29T19:00:00.000Z',
  cpu_model: 'cpu',
  cores: 2,
  load_average: { start: [1, 2, 3], end: [1, 2, 3] },
  dataset: 'test/fixtures/scifact',
  node: 'v20',
};
const realParts = (): Parts => ({
  bus: fixture('bus-overhead') as unknown as Parts['bus'],
  ingest: fixture('ingest-report') as unknown as Parts['ingest'],
  kafkajs: fixture('kafkajs-floor'),
  edge: fixture('edge-hot-path'),
});

describe('benchmark report', () => {
  it('carries every key issue 11 names, from the real outputs, and marks the encoder figures not measured when no encoder benchmark ran', () => {
    const report = buildReport(stamp, realParts());
    assert.deepEqual(reportProblems(report), []);
    const bus = fixture('bus-overhead') as { bus_overhead_ms: unknown; bus_throughput_ratio: unknown };
    assert.deepEqual(report.bus_overhead_ms, bus.bus_overhead_ms);
    assert.deepEqual(report.bus_throughput_ratio, bus.bus_throughput_ratio);
    const ingest = fixture('ingest-report') as { ingest_vs_encoder: number; freshness_ms: { p50: number } };
    assert.equal(report.ingest_vs_encoder, ingest.ingest_vs_encoder);
    assert.equal(report.freshness_ms?.p50, ingest.freshness_ms.p50);
    for (const role of ['encoder', 'query', 'kafka', 'qdrant', 'redis']) assert.ok(report.rss_mb?.[role], role);
    for (const key of ['encoder_vs_transformersjs', 'encoder_vs_session_run', 'int8_speedup', 'int8_ndcg_loss'] as const) {
      assert.equal(report[key], null);
      assert.match(report.not_measured[key] ?? '', /did not run/);
    }
  });

  it('takes the encoder figures from the encoder benchmark, and refuses a non-number instead of inventing one', () => {
    const report = buildReport(stamp, {
      ...realParts(),
      encoder: { encoder_vs_transformersjs: 1.2, encoder_vs_session_run: 0.97, int8_speedup: 1.7, int8_ndcg_loss: 'n/a' },
    });
    assert.equal(report.encoder_vs_transformersjs, 1.2);
    assert.equal(report.encoder_vs_session_run, 0.97);
    assert.equal(report.int8_speedup, 1.7);
    assert.equal(report.int8_ndcg_loss, null);
    assert.match(report.not_measured.int8_ndcg_loss ?? '', /did not report it/);
    assert.deepEqual(reportProblems(report), []);
  });

  it("gives the encoder benchmark's own reason for a key it left out, and shows a figure measured elsewhere as such", () => {
    const encoder = {
      encoder_vs_transformersjs: 1.2,
      encoder_vs_session_run: 0.97,
      int8_speedup: 1.7,
      int8_ndcg_loss: null,
      int8_ndcg_loss_not_measured: 'not re-measured in this run; measured in session 3',
      int8_ndcg_loss_reference: { value: 0.0012, what: 'per-channel int8, SciFact train' },
    };
    const report = buildReport(stamp, { ...realParts(), encoder });
    assert.equal(report.int8_ndcg_loss, null);
    assert.equal(report.not_measured.int8_ndcg_loss, 'not re-measured in this run; measured in session 3');
    assert.deepEqual(reportProblems(report), []);
    const markdown = renderSection(report);
    assert.match(
      markdown,
      /\| int8 nDCG@10 loss, SciFact train \| not in this run; 0\.0012 measured separately \(per-channel int8, SciFact train, see below\) \|/,
    );
    assert.match(markdown, /- `int8_ndcg_loss`: not re-measured in this run; measured in session 3/);
  });

  it('keeps a failed benchmark as nulls with its reason', () => {
    const report = buildReport(stamp, { ...realParts(), bus: { failed: 'exit code 1 and no --json output' } });
    assert.equal(report.bus_overhead_ms, null);
    assert.equal(report.bus_throughput_ratio, null);
    assert.match(report.not_measured.bus_overhead_ms ?? '', /bus-overhead\.ts failed: exit code 1/);
    assert.deepEqual(reportProblems(report), []);
  });

  it('the committed report of a real `npm run bench` (test/bench/report.json) is well formed', () => {
    const committed = JSON.parse(readFileSync(new URL('../../bench/report.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(reportProblems(committed), []);
  });

  it('finds what is wrong with a malformed report', () => {
    const report = buildReport(stamp, realParts()) as unknown as Record<string, unknown>;
    const broken = {
      ...report,
      bus_overhead_ms: { c1: { p50: 'fast' } },
      freshness_ms: null,
      not_measured: {},
      rss_mb: { encoder: { idle: 1, peak: 2 } },
    };
    delete (broken as Record<string, unknown>).int8_speedup;
    const problems = reportProblems(broken);
    assert.ok(problems.includes('bus_overhead_ms.c1.p50 is not a finite number'), problems.join('\n'));
    assert.ok(problems.includes('bus_overhead_ms.c16.p99 is not a finite number'));
    assert.ok(problems.includes('freshness_ms is null without a reason in not_measured'));
    assert.ok(problems.includes('int8_speedup is missing'));
    assert.ok(problems.includes('rss_mb.kafka is missing'));
    assert.deepEqual(reportProblems(null), ['the report is not an object']);
  });

  it('renders every figure of the JSON into the markdown, and "not measured" for the missing ones', () => {
    const report = buildReport(stamp, realParts());
    const md = renderSection(report);
    assert.ok(md.includes(`Commit \`abc\``));
    assert.ok(md.includes(report.bus_overhead_ms!.c1.p50.toFixed(2)));
    assert.ok(md.includes(`${report.bus_throughput_ratio!.c64.toFixed(2)}×`));
    assert.ok(md.includes(report.ingest_vs_encoder!.toFixed(2)));
    assert.match(md, /\| encoder vs transformers\.js \(fp32\) \| not measured \|/);
    assert.match(md, /One search, hop by hop/);
    assert.match(md, /Qdrant Edge server hot path/);
  });
  it('renders a section for the docs page: no heading of its own, the chart linked when there is one', () => {
    const report = buildReport(stamp, realParts());
    const md = renderSection(report, { chart: 'benchmarks/report-ratios.svg' });
    assert.doesNotMatch(md, /^#/m);
    assert.match(md, /!\[[^\]]*\]\(benchmarks\/report-ratios\.svg\)/);
    assert.doesNotMatch(renderSection(report), /report-ratios\.svg/);
    assert.equal(linkFrom('/repo/docs/benchmarks.md', '/repo/docs/benchmarks/report-ratios.svg'), 'benchmarks/report-ratios.svg');
  });

  it('replaces only what lies between the markers, keeps the rest of the page, and gives the same page when run twice', () => {
    const page = [
      '# Benchmarks',
      '',
      'Hand-written text.',
      '',
      REPORT_SECTION_START,
      'old figures',
      REPORT_SECTION_END,
      '',
      '## After',
      'More text.',
      '',
    ].join('\n');
    const once = spliceSection(page, '| new | figures |\n');
    assert.equal(
      once,
      [
        '# Benchmarks',
        '',
        'Hand-written text.',
        '',
        REPORT_SECTION_START,
        '',
        '| new | figures |',
        '',
        REPORT_SECTION_END,
        '',
        '## After',
        'More text.',
        '',
      ].join('\n'),
    );
    assert.equal(spliceSection(once, '| new | figures |'), once);
    assert.equal(sectionOf(once), '| new | figures |');
    assert.equal(sectionOf('no markers'), null);
  });

  it('refuses a page whose markers are missing, repeated or out of order', () => {
    assert.throws(() => spliceSection('# Benchmarks\n', 'x'), /exactly once \(found 0\)/);
    assert.throws(
      () => spliceSection(`${REPORT_SECTION_START}\n${REPORT_SECTION_END}\n${REPORT_SECTION_END}\n`, 'x'),
      /exactly once \(found 2\)/,
    );
    assert.throws(() => spliceSection(`${REPORT_SECTION_END}\n${REPORT_SECTION_START}\n`, 'x'), /comes before/);
  });

  it('draws every ratio against its goal as well-formed SVG, met and missed told in words, "not measured" for a null', () => {
    const report = buildReport(stamp, {
      ...realParts(),
      encoder: { encoder_vs_transformersjs: 1.1, encoder_vs_session_run: 0.97, int8_speedup: null },
    });
    const svg = renderRatioChart(report);
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.deepEqual(unbalancedTags(svg), []);
    assert.match(svg, /1\.10× \(goal 1\.15×, missed\)/);
    assert.match(svg, /0\.97× \(goal 0\.95×, met\)/);
    assert.match(svg, /not measured \(goal 1\.60×\)/);
    assert.ok(svg.includes(`${report.bus_throughput_ratio!.c64.toFixed(2)}× (goal 1.00×`));
    for (const row of ratioRows(report)) assert.ok(svg.includes(row.label), row.label);
    assert.equal(renderRatioChart(report), svg, 'the same report draws the same bytes');
    assert.doesNotMatch(renderRatioChart({ ...report, stamp: { ...report.stamp, commit: '<&>' } }), /<&>/);
  });

  it('the committed docs/benchmarks.md section and chart are what the committed report.json renders (node --import tsx test/bench/report.ts re-renders them)', () => {
    const committed = JSON.parse(readFileSync(REPORT_PATHS.json, 'utf8')) as Report;
    const page = readFileSync(REPORT_PATHS.page, 'utf8');
    assert.equal(sectionOf(page), renderSection(committed, { chart: linkFrom(REPORT_PATHS.page, REPORT_PATHS.chart) }).trim());
    assert.equal(readFileSync(REPORT_PATHS.chart, 'utf8'), renderRatioChart(committed));
  });
});

/** Open tags without their close, or closes without their open (self-closing and <?…?> skipped). */
function unbalancedTags(text: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  for (const m of text.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name = '', selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name);
    else if (stack.pop() !== name) problems.push(`</${name}> closes nothing open`);
  }
  return [...problems, ...stack.map((name) => `<${name}> is never closed`)];
}
