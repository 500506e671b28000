import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The package entries and `searchbus search` must not load @qdrant/js-client-rest: neither the
// clients nor a search needs it, and it is a large part of a cold start. createQdrant lives apart
// (topology/connections/qdrant-client.ts, `searchbus/qdrant`) for that reason.
//
// Each module is imported in a fresh Node (with tsx, as the suite runs) whose resolve hook counts
// every resolution into the Qdrant client's package in a SharedArrayBuffer; a resolve finishes
// before the import that asked for it, so the count is complete once the import is. CommonJS
// loads (which bypass ESM hooks on Node 20) are looked for in require.cache.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGE = '/node_modules/@qdrant/js-client-rest/';

const CHILD = `
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
const seen = new Int32Array(new SharedArrayBuffer(4));
const hook = \`
let seen;
export function initialize(data) { seen = data.seen; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes(${JSON.stringify(PACKAGE)})) Atomics.add(seen, 0, 1);
  return result;
}\`;
register('data:text/javascript,' + encodeURIComponent(hook), { data: { seen } });
await import(pathToFileURL(process.argv[1]).href);
const cjs = Object.keys(createRequire(pathToFileURL(process.argv[1]).href).cache).filter((path) => path.includes(${JSON.stringify(PACKAGE)}));
console.log(JSON.stringify({ esm: Atomics.load(seen, 0), cjs: cjs.length }));
`;

function qdrantLoads(module: string): { esm: number; cjs: number } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', CHILD, join(ROOT, module)], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(run.status, 0, run.stderr);
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as { esm: number; cjs: number };
}

describe('the Qdrant client is loaded only by what uses it', () => {
  for (const module of ['producers/index.ts', 'topology/index.ts', 'infra/cli/commands/search.ts']) {
    it(`importing ${module} does not load @qdrant/js-client-rest`, () => {
      assert.deepEqual(qdrantLoads(module), { esm: 0, cjs: 0 });
    });
  }

  it('the check sees it loaded by topology/connections/qdrant-client.ts', () => {
    assert.ok(qdrantLoads('topology/connections/qdrant-client.ts').esm > 0);
  });
});
