import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../infra/local/ports.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE_QUERIES = join(ROOT, 'infra/demo/sample-queries.json');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = promisify(execFile);

// What a new user does with the published package: `npm pack` here, install the tarball into an
// empty folder (no sources, no dev dependencies), `npx searchbus up` there on the suite's services,
// then a search through the CLI and through the library API from a plain ESM script, and a type
// check of that API from TypeScript.
describe('the npm package, installed from its tarball into an empty folder', () => {
  let h: Harness;
  let folder: string;
  let up: ChildProcess | undefined;
  let upLog = '';
  let env: NodeJS.ProcessEnv;

  const npx = (args: string[]) => run('npx', ['--no', 'searchbus', ...args], { cwd: folder, env, maxBuffer: 16 << 20 });

  before(async () => {
    h = await createHarness({ apply: false });
    folder = await mkdtemp(join(tmpdir(), 'searchbus-package-'));
    env = {
      ...process.env,
      ...h.env,
      // The Node that runs this test runs npm, npx and searchbus too (CI runs this file on Node 26 as well).
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      KAFKA_BROKERS: h.services.kafka.brokers.join(','),
      REDIS_URL: h.services.redis.url,
      QDRANT_URL: h.services.qdrant.url,
      SEARCHBUS_METRICS_PORT: String(await freePort()),
      SEARCHBUS_GATEWAY_PORT: String(await freePort()),
      // The suite's own tsx must not leak into the installed package's processes.
      NODE_OPTIONS: '',
    };
  });

  after(async () => {
    // Whatever of `npx searchbus up` is left after a failure.
    if (up?.pid) {
      try {
        process.kill(-up.pid, 'SIGKILL');
      } catch {
        // the group is gone
      }
    }
    await h?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('packs, installs without dev dependencies, runs `npx searchbus up` and answers a search', async () => {
    // prepack builds dist/ first; --json names the tarball.
    const packed = await run('npm', ['pack', '--json', '--pack-destination', folder], { cwd: ROOT, env, maxBuffer: 16 << 20 });
    const [tarball] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.ok(tarball, packed.stdout);
    const { filename } = tarball;
    const paths = tarball.files.map((f) => f.path);
    assert.ok(
      paths.includes('dist/infra/cli/main.js') &&
        paths.includes('dist/producers/index.d.ts') &&
        paths.includes('dist/producers/index.js.map'),
    );
    // The README links into docs/: the pages ship with it, so the links resolve in an installed package.
    assert.ok(paths.includes('docs/README.md') && paths.includes('docs/contracts.md'), 'the package carries docs/');
    assert.ok(
      !paths.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')),
      `the tarball carries TypeScript sources: ${paths.filter((p) => p.endsWith('.ts')).join(', ')}`,
    );
    assert.ok(!paths.some((p) => p.startsWith('test/')), 'the tarball carries tests');

    await writeFile(join(folder, 'package.json'), JSON.stringify({ name: 'searchbus-user', private: true, type: 'module' }));
    // The CUDA provider files onnxruntime-node would fetch from NuGet are not needed on CPU.
    await run('npm', ['install', '--no-audit', '--no-fund', '--onnxruntime-node-install=skip', join(folder, filename)], {
      cwd: folder,
      env,
      maxBuffer: 16 << 20,
    });
    // (typescript does get installed: @qdrant/js-client-rest declares it as a peer dependency.)
    for (const devOnly of ['tsx', 'testcontainers', 'eslint']) {
      assert.ok(!existsSync(join(folder, 'node_modules', devOnly)), `${devOnly} was installed with the package`);
    }

    up = spawn('npx', ['--no', 'searchbus', 'up'], { cwd: folder, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    up.stderr!.on('data', (chunk: Buffer) => (upLog += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const onData = (): void => {
        if (upLog.includes('searchbus is up')) done(resolve);
      };
      const onExit = (code: number | null): void =>
        done(() => reject(new Error(`searchbus up exited (${code}) before it was up:\n${upLog}`)));
      const done = (settle: () => void): void => {
        up!.stderr!.off('data', onData);
        up!.off('exit', onExit);
        settle();
      };
      up!.stderr!.on('data', onData);
      up!.on('exit', onExit);
    });

    const [query] = JSON.parse(await readFile(SAMPLE_QUERIES, 'utf8')) as Array<{ query: string; expect: string }>;
    assert.ok(query);
    const search = await npx(['search', query.query, '--k', '3', '--json']);
    const result = JSON.parse(search.stdout) as { hits: Array<{ docId: string }>; model: string };
    assert.equal(result.hits[0]?.docId, query.expect, search.stdout);

    // The library API, from a plain ESM script next to the installed package.
    await writeFile(
      join(folder, 'search.mjs'),
      `import { SearchClient, IngestProducer, createKafka, createRedis, kafkaSettings, redisSettings, createTopology, loadConfig, encodeDocument } from 'searchbus';
import { createTopology as topologyOf } from 'searchbus/topology';
const config = loadConfig();
const topology = createTopology(config.namespace);
const client = new SearchClient({ kafka: createKafka(kafkaSettings(process.env), 'package-test'), redis: createRedis(redisSettings(process.env), 'package-test'), topology });
try {
  const result = await client.search({ text: process.argv[2], topK: 3 });
  console.log(JSON.stringify({
    top: result.hits[0]?.docId,
    ingestTopic: topologyOf(config.namespace).topics.ingest === topology.topics.ingest ? topology.topics.ingest : null,
    producer: typeof IngestProducer,
    encoded: typeof encodeDocument,
  }));
} finally {
  await client.close();
}
`,
    );
    const script = await run(process.execPath, ['search.mjs', query.query], { cwd: folder, env });
    assert.deepEqual(JSON.parse(script.stdout), {
      top: query.expect,
      ingestTopic: h.topology.topics.ingest,
      producer: 'function',
      encoded: 'function',
    });

    // The typed entry points: a TypeScript user sees real types (a wrong call does not compile).
    await writeFile(
      join(folder, 'check.ts'),
      `import { SearchClient, type SearchQuery, type SearchResult } from 'searchbus';
import { createTopology, type Topology } from 'searchbus/topology';
import { createQdrant } from 'searchbus/qdrant';
export const topology: Topology = createTopology('check');
export const qdrantFor: typeof createQdrant = createQdrant;
export function first(client: SearchClient, query: SearchQuery): Promise<SearchResult> {
  return client.search(query);
}
// @ts-expect-error the text of a query is a string
export const wrong: SearchQuery = { text: 42 };
`,
    );
    await writeFile(
      join(folder, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ['check.ts'],
      }),
    );
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: folder, env }).catch((error: Error & { stdout?: string }) =>
      assert.fail(`the typed API does not check:\n${error.stdout ?? error.message}`),
    );

    // Ctrl-C, as a terminal sends it: SIGINT to the whole foreground process group (npx, its shell
    // and searchbus). npx itself dies of it at once; searchbus stops cleanly. Its stderr closes only
    // once the last process of the group has exited.
    const closed = new Promise((resolve) => up!.stderr!.once('close', resolve));
    process.kill(-up.pid!, 'SIGINT');
    await closed;
    assert.match(upLog, /SIGINT: shutting down/);
    assert.doesNotMatch(upLog, /^error:/m);
    // Then the group empties (an exited process lingers until its new parent reaps it).
    const group = up.pid!;
    const groupGone = (): boolean | undefined => {
      try {
        process.kill(-group, 0);
        return undefined;
      } catch (error) {
        return (error as { code?: string }).code === 'ESRCH' ? true : undefined;
      }
    };
    await waitFor('every process of `npx searchbus up` to exit', () => Promise.resolve(groupGone()), 30_000);
    // kafkajs #1751: on Node 24+ every connection would print it (infra/node-warnings.ts).
    assert.doesNotMatch(upLog + search.stderr, /TimeoutNegativeWarning/);
  });
});
