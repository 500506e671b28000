import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The import rules (.dependency-cruiser.mjs) run on a small tree that breaks each of them once,
// next to imports they allow, so that a rule that silently stops matching fails here.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

const TREE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true, strict: true },
  }),
  'topology/index.ts': "export * from './names.ts';\nexport * from './connections/index.ts';\n",
  'topology/names.ts': "import { produce } from '../producers/ingest/index.ts';\nexport const NAME = typeof produce;\n",
  'topology/connections/index.ts': "export { connect } from './clients.ts';\n",
  'topology/connections/clients.ts': 'export const connect = (): number => 1;\n',
  // Not in the connections index (it loads the Qdrant client): imported by path, which the rules allow.
  'topology/connections/qdrant-client.ts': 'export const createQdrant = (): number => 2;\n',
  'producers/ingest/index.ts': "export { produce } from './producer.ts';\n",
  'producers/ingest/producer.ts': [
    "import { connect } from '../../topology/connections/index.ts';",
    "import { query } from '../../consumers/query/index.ts';",
    "import type { Port } from '../../infra/local/index.ts';",
    'export const produce = (port: Port): string => String(connect) + String(query) + String(port);',
    '',
  ].join('\n'),
  'consumers/query/index.ts': "export { query } from './query-consumer.ts';\n",
  'consumers/query/query-consumer.ts': "import { freePort } from '../../infra/local/index.ts';\nexport const query = freePort;\n",
  'consumers/encoder/index.ts': [
    "import { query } from '../query/query-consumer.ts';",
    "import { ping } from '../runtime/index.ts';",
    'export const encode = [query, ping];',
    '',
  ].join('\n'),
  'consumers/runtime/index.ts': "export { ping } from './ping.ts';\n",
  'consumers/runtime/ping.ts': "import { pong } from './pong.ts';\nexport const ping = (): unknown => pong;\n",
  'consumers/runtime/pong.ts': "import { ping } from './ping.ts';\nexport const pong = (): unknown => ping;\n",
  'infra/local/index.ts': "export { freePort, type Port } from './ports.ts';\n",
  'infra/local/ports.ts': 'export type Port = number;\nexport const freePort = (): Port => 0;\n',
  'infra/services.ts': [
    "import { freePort } from './local/ports.ts';",
    "import { connect } from '../topology/connections/clients.ts';",
    "import { connect as viaIndex } from '../topology/index.ts';",
    "import { createQdrant } from '../topology/connections/qdrant-client.ts';",
    'export const services = [freePort, connect, viaIndex, createQdrant];',
    '',
  ].join('\n'),
  'infra/build/dist-state.mjs': 'export const STAMP = 1;\n',
  'infra/cli/main.ts': [
    "import { STAMP } from '../build/dist-state.mjs';",
    "import { services } from '../services.ts';",
    "import { helper } from '../../test/support/helper.ts';",
    "import { createQdrant } from '../../topology/connections/qdrant-client.ts';",
    'export const main = [STAMP, services, helper, createQdrant];',
    '',
  ].join('\n'),
  'test/support/helper.ts': 'export const helper = 1;\n',
  'test/unit/query.test.ts':
    "import { query } from '../../consumers/query/query-consumer.ts';\nimport { helper } from '../support/helper.ts';\nexport const t = [query, helper];\n",
};

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: unknown[];
}

describe('import rules (dependency-cruiser)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'searchbus-import-rules-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }

  it('reports each broken rule, and nothing the rules allow', () => {
    const run = spawnSync(
      process.execPath,
      [
        DEPCRUISE,
        '--config',
        join(ROOT, '.dependency-cruiser.mjs'),
        '--output-type',
        'json',
        'producers',
        'consumers',
        'topology',
        'infra',
        'test',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr); // the json reporter exits 0; `npm run lint`'s err reporter fails
    const violations = (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
    const found = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    assert.deepEqual(
      found,
      [
        'consumers-not-to-producers-or-infra: consumers/query/query-consumer.ts → infra/local/index.ts',
        'no-circular: consumers/runtime/ping.ts → consumers/runtime/pong.ts', // one report per cycle
        'not-to-test: infra/cli/main.ts → test/support/helper.ts',
        // type-only imports count
        'producers-not-to-consumers-or-infra: producers/ingest/producer.ts → consumers/query/index.ts',
        'producers-not-to-consumers-or-infra: producers/ingest/producer.ts → infra/local/index.ts',
        'role-folder-through-index-from-floor: infra/services.ts → infra/local/ports.ts',
        'role-folder-through-index-from-floor: infra/services.ts → topology/connections/clients.ts',
        'role-folder-through-index: consumers/encoder/index.ts → consumers/query/query-consumer.ts',
        'topology-imports-no-other-floor: topology/names.ts → producers/ingest/index.ts',
      ].sort(),
    );
  });
});
