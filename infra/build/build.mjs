// `npm run build`: compiles the library and the CLI into dist/ (.js, .d.ts, source maps) with
// tsconfig.build.json, and copies the files the compiled code reads next to it (assets.mjs: the
// Kafka pom and log4j config, the Qdrant Edge server, the model tools, the sample corpus, the
// gateway's search page), so dist/ is the whole runnable package.
// `--if-stale` builds only when dist/ is missing or older than a source (what `npm start` runs).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASSETS } from './assets.mjs';
import { distState, STAMP } from './dist-state.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

const ifStale = process.argv.includes('--if-stale');
const state = distState(root);
if (ifStale && state === 'fresh') process.exit(0);
if (ifStale) console.error(`searchbus: dist/ is ${state}; building (npm run build)…`);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('searchbus: building needs the dev dependencies (typescript); run `npm ci` first');
  process.exit(1);
}

const startedAtMs = Date.now();
const dist = join(root, 'dist');
// From scratch: a source that was removed must not leave its old output behind.
rmSync(dist, { recursive: true, force: true });
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error('searchbus: tsc failed; dist/ was removed');
  process.exit(compiled.status ?? 1);
}
for (const asset of ASSETS) {
  const target = join(dist, asset);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(join(root, asset), target, { recursive: true, filter: (source) => !/__pycache__|\.pyc$/.test(source) });
}
// Written last: a build that stopped half-way has no stamp and counts as missing.
writeFileSync(join(root, STAMP), JSON.stringify({ startedAtMs }) + '\n');
