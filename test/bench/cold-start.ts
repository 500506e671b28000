// Cold start of `searchbus search`: the wall time of one CLI search minus the search itself (the
// latency the client measures from publishing the request to the reply), for each way of running
// the CLI, side by side and interleaved, with a bare `node -e 0` start as the baseline.
// Run (services in the environment, or throwaway local ones):
//   node infra/cli/bin.mjs infra run -- node --import tsx test/bench/cold-start.ts [--runs 9] [--before <dir>]
// --before: a checkout of an older searchbus (with node_modules) to measure the same way.
// Builds dist/ if it is stale. Starts `searchbus up` (compiled) on a namespace of its own.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { endpointEnv, getServices } from '../../infra/index.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '9' }, before: { type: 'string' }, json: { type: 'boolean', default: false } },
});
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QUERY = 'how do stars die';
const log = (line: string): void => void process.stderr.write(`${line}\n`);

// The compiled variants measure dist/ as built from these sources.
if (spawnSync(process.execPath, [join(ROOT, 'infra/build/build.mjs'), '--if-stale'], { stdio: 'inherit' }).status !== 0)
  throw new Error('the build failed');
const services = await getServices({ log });
const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...endpointEnv({ kafka: services.kafka, redis: services.redis, qdrant: services.qdrant }),
  SEARCHBUS_NAMESPACE: `cold-${randomUUID().slice(0, 8)}`,
  SEARCHBUS_METRICS_PORT: '0',
  SEARCHBUS_GATEWAY_PORT: '0',
  NODE_OPTIONS: '',
};

interface Variant {
  name: string;
  command: string;
  args: string[];
  /** Runs a search (else: the bare Node baseline). */
  search: boolean;
}
const searchArgs = ['search', QUERY, '--k', '3', '--json'];
const variants: Variant[] = [
  { name: 'node -e 0 (baseline)', command: process.execPath, args: ['-e', '0'], search: false },
  {
    name: 'node infra/cli/bin.mjs (dist/)',
    command: process.execPath,
    args: [join(ROOT, 'infra/cli/bin.mjs'), ...searchArgs],
    search: true,
  },
  { name: 'npx searchbus (dist/)', command: 'npx', args: ['--no', 'searchbus', ...searchArgs], search: true },
  {
    name: 'tsx, sources',
    command: process.execPath,
    args: ['--import', 'tsx', join(ROOT, 'infra/cli/main.ts'), ...searchArgs],
    search: true,
  },
];
if (values.before) {
  const before = values.before;
  if (!existsSync(join(before, 'infra/cli/bin.mjs'))) throw new Error(`--before ${before} is not a searchbus checkout`);
  variants.push({
    name: `before (${before})`,
    command: process.execPath,
    args: [join(before, 'infra/cli/bin.mjs'), ...searchArgs],
    search: true,
  });
}

const up = spawn(process.execPath, [join(ROOT, 'infra/cli/bin.mjs'), 'up'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
let upLog = '';
await new Promise<void>((resolve, reject) => {
  up.stderr.on('data', (chunk: Buffer) => {
    upLog += chunk.toString();
    if (upLog.includes('searchbus is up')) resolve();
  });
  up.once('exit', (code) => reject(new Error(`searchbus up exited (${code}):\n${upLog}`)));
});

const runs = Number(values.runs);
const samples = new Map<string, Array<{ wallMs: number; searchMs: number }>>(variants.map((v) => [v.name, []]));
try {
  for (let run = 0; run < runs; run += 1) {
    for (const variant of variants) {
      const started = performance.now();
      const result = spawnSync(variant.command, variant.args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 16 << 20 });
      const wallMs = performance.now() - started;
      if (result.status !== 0) throw new Error(`${variant.name} failed (${result.status}):\n${result.stderr}`);
      const searchMs = variant.search ? (JSON.parse(result.stdout) as { latencyMs: number }).latencyMs : 0;
      samples.get(variant.name)!.push({ wallMs, searchMs });
    }
  }
} finally {
  up.kill('SIGINT');
  await new Promise((resolve) => up.once('exit', resolve));
  await services.close();
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const baselineMs = median(samples.get(variants[0]!.name)!.map((s) => s.wallMs));
const rows = variants.map((v) => {
  const s = samples.get(v.name)!;
  const wallMs = median(s.map((x) => x.wallMs));
  const searchMs = median(s.map((x) => x.searchMs));
  const overheadMs = median(s.map((x) => x.wallMs - x.searchMs));
  return {
    variant: v.name,
    wallMs: round(wallMs),
    searchMs: round(searchMs),
    startOnTopOfSearchMs: round(overheadMs),
    ratioToBareNode: round(overheadMs / baselineMs),
  };
});
const report = { runs, node: process.version, loadAverage: loadavg().map(round), rows };
if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else {
  log(`cold start of \`searchbus search\` (median of ${runs}, ${process.version}, load ${report.loadAverage.join(' ')})`);
  for (const r of rows)
    log(
      `  ${r.variant.padEnd(40)} wall ${r.wallMs} ms, search ${r.searchMs} ms, start on top ${r.startOnTopOfSearchMs} ms (${r.ratioToBareNode}x bare node)`,
    );
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
