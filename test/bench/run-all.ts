// `npm run bench`: every benchmark of issue 11 in one go, one after the other on the same
// services, then test/bench/report.json, the generated section of docs/benchmarks.md and its chart
// docs/benchmarks/report-ratios.svg (see report.ts for the shape). With `--out <dir>` elsewhere, all
// three go to that folder instead (report.json, report-section.md, report-ratios.svg) and the docs
// are left alone.
//   bus-overhead.ts    hop-by-hop trace of one search; bus vs direct at concurrency 1, 16, 64
//   kafkajs-floor.ts   bare kafkajs: the idle timer loop, produce -> consume vs the Java client
//   ingest-report.ts   ingest vs the encoder alone, CPU and RSS per process, freshness at half peak
//   edge-hot-path.py   the Qdrant Edge server's hot path, before and after
//   read-your-writes.ts  (`after`) publish-then-search misses with and without `after`, and its added latency
//   the encoder-speed benchmark, when the branch has one: the test/bench script that names the
//   keys encoder_vs_session_run etc. and takes --json (else those keys are "not measured")
// Run: npm run bench [-- --dataset <beir-dir>] [-- --only bus,ingest] [-- --out <dir>]
// (`npm run bench` wraps this in `searchbus infra run`, so local services start once for all.)
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ensureQdrantEdgeVenv } from '../../infra/local/index.ts';
import { SCIFACT_DIR } from '../support/corpus.ts';
import {
  buildReport,
  REPORT_PATHS,
  REPORT_SECTION_END,
  REPORT_SECTION_START,
  reportProblems,
  writeReportOutputs,
  type Parts,
} from './report.ts';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: SCIFACT_DIR },
    only: { type: 'string' },
    out: { type: 'string', default: fileURLToPath(new URL('.', import.meta.url)) },
    docs: { type: 'string', default: 'all' },
  },
});
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const only = values.only ? new Set(values.only.split(',')) : null;
const log = (line: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const run = promisify(execFile);

/** Runs one benchmark; its output streams to this stderr; resolves with what it wrote to --json. */
async function part(name: string, command: string, args: string[]): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), `bench-${name}-`));
  const json = join(dir, 'result.json');
  log(`${name}: ${[command, ...args].map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a)).join(' ')}`);
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, [...args, '--json', json], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  log(`${name}: exit ${code} after ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (!existsSync(json)) throw new Error(`exit code ${code} and no --json output`);
  return JSON.parse(await readFile(json, 'utf8')) as Record<string, unknown>;
}
const failure = (error: unknown): { failed: string } => ({ failed: error instanceof Error ? error.message : String(error) });
const wanted = (name: string): boolean => only === null || only.has(name);
const tsx = (file: string, ...args: string[]): [string, string[]] => [
  process.execPath,
  ['--import', 'tsx', join(BENCH_DIR, file), ...args],
];

/** The encoder-speed benchmark: a script here that names the report keys and takes --json. */
async function encoderScript(): Promise<string | null> {
  const mine = new Set(['run-all.ts', 'report.ts', 'bus-overhead.ts', 'ingest-report.ts', 'kafkajs-floor.ts']);
  for (const file of (await readdir(BENCH_DIR)).filter((f) => f.endsWith('.ts') && !mine.has(f)).sort()) {
    const text = await readFile(join(BENCH_DIR, file), 'utf8');
    if (text.includes('encoder_vs_session_run') && text.includes('--json')) return file;
  }
  return null;
}

const commit = await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).then(
  (r) => r.stdout.trim(),
  () => 'unknown',
);
const dirty = await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).then(
  (r) => r.stdout.trim() !== '',
  () => false,
);
const loadStart = loadavg();
const dataset = relative(ROOT, values.dataset) || values.dataset;
const parts: Parts = {};

if (wanted('bus'))
  parts.bus = await part('bus', ...tsx('bus-overhead.ts', '--dataset', values.dataset)).then((r) => r as unknown as Parts['bus'], failure);
if (wanted('kafkajs')) parts.kafkajs = await part('kafkajs', ...tsx('kafkajs-floor.ts')).catch(failure);
if (wanted('ingest'))
  parts.ingest = await part('ingest', ...tsx('ingest-report.ts', '--dataset', values.dataset, '--docs', values.docs)).then(
    (r) => r as unknown as Parts['ingest'],
    failure,
  );
if (wanted('edge')) {
  parts.edge = await ensureQdrantEdgeVenv(log)
    .then((python) => part('edge', python, [join(BENCH_DIR, 'edge-hot-path.py')]))
    .catch(failure);
}
if (wanted('after')) parts.after = await part('after', ...tsx('read-your-writes.ts')).catch(failure);
if (wanted('encoder')) {
  const script = await encoderScript();
  parts.encoder =
    script === null
      ? { failed: 'no test/bench script names encoder_vs_session_run and takes --json on this branch' }
      : await part('encoder', ...tsx(script, '--dataset', values.dataset)).catch(failure);
}

const report = buildReport(
  {
    commit: `${commit}${dirty ? ' (with uncommitted changes)' : ''}`,
    date: new Date().toISOString(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    load_average: { start: loadStart, end: loadavg() },
    dataset,
    node: process.version,
  },
  parts,
);
const problems = reportProblems(report);
const jsonPath = resolve(values.out, 'report.json');
const committed = jsonPath === REPORT_PATHS.json;
const page = committed ? REPORT_PATHS.page : join(values.out, 'report-section.md');
const chart = committed ? REPORT_PATHS.chart : join(values.out, 'report-ratios.svg');
if (!committed) {
  // --out names a folder of its own: make it, so a long run does not fail at its last step.
  await mkdir(values.out, { recursive: true });
  await writeFile(page, `${REPORT_SECTION_START}\n${REPORT_SECTION_END}\n`);
}
await writeReportOutputs(report, { json: jsonPath, page, chart });
log(`wrote ${jsonPath}, ${page} and ${chart}${problems.length > 0 ? `; shape problems: ${problems.join('; ')}` : ''}`);
for (const [key, reason] of Object.entries(report.not_measured)) log(`not measured: ${key}: ${reason}`);
if (problems.length > 0) process.exitCode = 1;
