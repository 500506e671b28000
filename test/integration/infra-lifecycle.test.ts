import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ensureKafkaClasspath, getServices, isAlive, reapOrphans, type ProcessEntry } from '../../infra/index.ts';
import { requireJava, requirePython } from '../../infra/local/prerequisites.ts';
import { startRedis } from '../../infra/local/redis-process.ts';
import { listEntries, processStartTicks, register, unregister } from '../../infra/local/process-registry.ts';
import { ConfigError, hasErrorCode, UnavailableError } from '../../topology/errors.ts';

const HOLDER = fileURLToPath(new URL('../support/hold-services.ts', import.meta.url));

describe('infra lifecycle', () => {
  it('stops every service of a killed test run at the next start', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`the service-holding process exited (${String(code)}) before its services were up`);
    });
    const [line] = (await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited])) as [string];
    exited.catch(() => undefined);
    const entries = JSON.parse(line) as ProcessEntry[];
    assert.deepEqual(entries.map((e) => e.service).sort(), ['kafka', 'qdrant', 'redis']);
    assert.ok(
      entries.every((e) => isAlive(e.pid, e.startTicks)),
      'services run while their owner lives',
    );

    child.kill('SIGKILL');
    await once(child, 'exit');
    const reaped = await reapOrphans();
    for (const entry of entries) assert.equal(isAlive(entry.pid, entry.startTicks), false, `${entry.service} (pid ${entry.pid}) is gone`);
    // Qdrant may have left on its own (--exit-with-parent); the others need the reaper.
    const reapedServices = reaped.map((e) => e.service);
    assert.ok(reapedServices.includes('kafka') && reapedServices.includes('redis'), `reaped ${reapedServices.join(', ')}`);
  });

  it("leaves a dead service's entry and scratch directory to its living owner (a restart in progress), even when another run reaps", async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    await once(child, 'exit');
    const scratch = await mkdtemp(join(tmpdir(), 'searchbus-reaper-'));
    const id = `reaper-test-${process.pid}-${Date.now()}`;
    await register({
      id,
      service: 'redis',
      profile: 'test',
      pid: child.pid!,
      startTicks: 0,
      ownerPid: process.pid,
      ownerStartTicks: processStartTicks(process.pid),
      endpoint: 'redis://127.0.0.1:1',
      logFile: join(scratch, 'log'),
      scratchDir: scratch,
      startedAt: new Date().toISOString(),
    });
    try {
      await reapOrphans();
      assert.ok(
        (await listEntries()).some((e) => e.id === id),
        'the entry is still registered',
      );
      await assert.doesNotReject(mkdir(join(scratch, 'still-here')), 'the scratch directory is still there');
    } finally {
      await unregister(id);
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe('infra errors name what to install or set', () => {
  it('Java missing', async () => {
    const saved = process.env.JAVA_HOME;
    process.env.JAVA_HOME = '/nonexistent/jdk';
    try {
      await assert.rejects(
        requireJava(17),
        (e: unknown) => hasErrorCode(e, 'missing-prerequisite') && /Java 17\+/.test(e.message) && /KAFKA_BROKERS/.test(e.message),
      );
    } finally {
      if (saved === undefined) delete process.env.JAVA_HOME;
      else process.env.JAVA_HOME = saved;
    }
  });

  it('Python missing', async () => {
    const saved = process.env.SEARCHBUS_PYTHON;
    process.env.SEARCHBUS_PYTHON = '/nonexistent/python3';
    try {
      await assert.rejects(
        requirePython(),
        (e: unknown) => hasErrorCode(e, 'missing-prerequisite') && /Python 3\.10\+/.test(e.message) && /QDRANT_URL/.test(e.message),
      );
    } finally {
      if (saved === undefined) delete process.env.SEARCHBUS_PYTHON;
      else process.env.SEARCHBUS_PYTHON = saved;
    }
  });

  it('a port taken', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await assert.rejects(
        startRedis({ profile: 'up', env: { SEARCHBUS_REDIS_PORT: String(port) }, log: () => undefined }),
        (e: unknown) =>
          e instanceof ConfigError && e.code === 'port-in-use' && e.setting === 'SEARCHBUS_REDIS_PORT' && e.message.includes(String(port)),
      );
    } finally {
      server.close();
    }
  });

  it('a registry that cannot be reached', async () => {
    const home = await mkdtemp(join(tmpdir(), 'searchbus-offline-'));
    // Maven settings that send every download to a closed local port: a machine without network.
    await mkdir(join(home, '.m2'), { recursive: true });
    await writeFile(
      join(home, '.m2', 'settings.xml'),
      '<settings><mirrors><mirror><id>closed</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:9/maven2</url></mirror></mirrors></settings>',
    );
    const saved = { opts: process.env.MAVEN_OPTS, cache: process.env.SEARCHBUS_CACHE_DIR };
    process.env.MAVEN_OPTS = `${saved.opts ?? ''} -Duser.home=${home}`;
    process.env.SEARCHBUS_CACHE_DIR = join(home, 'cache');
    try {
      await assert.rejects(
        ensureKafkaClasspath(),
        (e: unknown) =>
          e instanceof UnavailableError && e.code === 'registry-unreachable' && e.retriable && /Maven Central/.test(e.message),
      );
    } finally {
      for (const [key, value] of [
        ['MAVEN_OPTS', saved.opts],
        ['SEARCHBUS_CACHE_DIR', saved.cache],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await rm(home, { recursive: true, force: true });
    }
  });

  it('a configured endpoint that does not answer', async () => {
    const cases = [
      { env: { KAFKA_BROKERS: '127.0.0.1:1' }, need: 'kafka', setting: 'KAFKA_BROKERS' },
      { env: { REDIS_URL: 'redis://127.0.0.1:1' }, need: 'redis', setting: 'REDIS_URL' },
      { env: { QDRANT_URL: 'http://127.0.0.1:1' }, need: 'qdrant', setting: 'QDRANT_URL' },
    ] as const;
    for (const c of cases) {
      await assert.rejects(
        getServices({ env: c.env, need: [c.need] }),
        (e: unknown) =>
          e instanceof UnavailableError && e.code === 'endpoint-unreachable' && e.retriable && e.message.startsWith(`${c.setting}=`),
      );
    }
  });
});
