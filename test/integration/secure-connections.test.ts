import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { createKafka, getServices } from '../../infra/index.ts';
import { createQdrant } from '../../topology/connections/qdrant-client.ts';
import { startKafka, startQdrant, startRedis } from '../../infra/local/index.ts';
import { freePort } from '../../infra/local/ports.ts';
import { ConfigError, createTopology, type Topology } from '../../topology/index.ts';
import { generateCertificates, type TestCertificates } from '../support/certificates.ts';
import { uniqueNamespace, waitFor } from '../support/harness.ts';

// searchbus on secured services, configured only through the environment, as a user would: a Kafka
// broker whose second listener takes SCRAM over TLS with client certificates (users created at
// format time), redis-server with an ACL user on a TLS port (the default user disabled), a Qdrant
// engine that requires an API key, and certificates made here with openssl. Every role runs in a real `searchbus up` process; ingest,
// search and a rebuild go through the CLI. Wrong secrets and untrusted certificates fail at start-up.

const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));
const SAMPLE_CORPUS = fileURLToPath(new URL('../../infra/demo/sample-corpus.jsonl', import.meta.url));
const SAMPLE_QUERIES = fileURLToPath(new URL('../../infra/demo/sample-queries.json', import.meta.url));

const KAFKA_USER = { username: 'searchbus-app', password: `kafka-${Math.random().toString(36).slice(2)}` };
const REDIS_USER = { username: 'searchbus-app', password: `redis-${Math.random().toString(36).slice(2)}` };
const QDRANT_KEY = `qdrant-${Math.random().toString(36).slice(2)}`;
const WRONG = 'not-the-password-42';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('secure connections: SCRAM+TLS Kafka, ACL+TLS Redis', () => {
  let dir: string;
  let certs: TestCertificates;
  let kafka: Awaited<ReturnType<typeof startKafka>>;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let qdrantServer: Awaited<ReturnType<typeof startQdrant>>;
  let qdrant: QdrantClient;
  let namespace: string;
  let topology: Topology;
  /** What a user would export to reach the secured services. */
  let env: Record<string, string>;
  const children = new Set<ChildProcess>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'searchbus-secure-'));
    certs = await generateCertificates(dir);
    await writeFile(join(dir, 'kafka-password'), `${KAFKA_USER.password}\n`, { mode: 0o600 });
    [kafka, redis, qdrantServer] = await Promise.all([
      startKafka({
        profile: 'test',
        env: {},
        log: () => undefined,
        secure: { keystoreFile: certs.serverKeystoreFile, clientCaFile: certs.caFile, users: [KAFKA_USER] },
      }),
      startRedis({
        profile: 'test',
        env: {},
        log: () => undefined,
        secure: {
          certFile: certs.serverCertFile,
          keyFile: certs.serverKeyFile,
          caFile: certs.caFile,
          authClients: 'optional',
          user: REDIS_USER,
        },
      }),
      startQdrant({ profile: 'test', env: {}, log: () => undefined, apiKey: QDRANT_KEY }),
    ]);
    qdrant = createQdrant(qdrantServer.endpoint);
    namespace = uniqueNamespace('sec');
    topology = createTopology(namespace);
    const redisPort = new URL(redis.endpoint.url).port;
    env = {
      SEARCHBUS_NAMESPACE: namespace,
      KAFKA_BROKERS: kafka.secureBrokers!.join(','),
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: KAFKA_USER.username,
      KAFKA_SASL_PASSWORD_FILE: join(dir, 'kafka-password'),
      KAFKA_SSL_CA_FILE: certs.caFile,
      KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      KAFKA_SSL_KEY_FILE: certs.clientKeyFile,
      REDIS_URL: `rediss://${REDIS_USER.username}:${REDIS_USER.password}@127.0.0.1:${redisPort}`,
      REDIS_TLS_CA_FILE: certs.caFile,
      QDRANT_URL: qdrantServer.endpoint.url,
      QDRANT_API_KEY: QDRANT_KEY,
    };
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (qdrant) {
      const { collections } = await qdrant.getCollections();
      for (const c of collections.filter((c) => c.name.startsWith(topology.qdrant.alias))) await qdrant.deleteCollection(c.name);
    }
    await Promise.allSettled([kafka?.close(), redis?.close(), qdrantServer?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `searchbus <args>` to completion, with the test's settings on top of the inherited environment. */
  function cli(args: string[], overrides: Record<string, string> = {}): Promise<CliResult> {
    const child = spawnCli(args, overrides);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        assertNoSecret(stdout + stderr);
        resolve({ code, stdout, stderr });
      });
    });
  }

  function spawnCli(args: string[], overrides: Record<string, string> = {}): ChildProcess {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, ...overrides };
    // An empty override unsets the variable, as a user leaving it out would.
    for (const [key, value] of Object.entries(overrides)) if (value === '') delete childEnv[key];
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  }

  function assertNoSecret(text: string): void {
    for (const secret of [KAFKA_USER.password, REDIS_USER.password, QDRANT_KEY, WRONG])
      assert.ok(!text.includes(secret), `output prints a secret:\n${text}`);
  }

  // The ranking asserted here is the dense one: this test shows that searches travel the secured
  // connections, and on the 50-document demo corpus a hybrid ranking of a question can tie (a
  // sparse match on one rare word such as "does" fuses level with the dense top hit).
  async function topHitViaCli(query: string): Promise<string | undefined> {
    const search = await cli(['search', query, '--k', '3', '--mode', 'dense', '--json']);
    assert.equal(search.code, 0, search.stderr);
    return (JSON.parse(search.stdout) as { hits: Array<{ docId: string }> }).hits[0]?.docId;
  }

  it('ingest, search and a re-index run end to end through every role', async () => {
    const metricsPort = await freePort();
    const gatewayPort = await freePort();
    const up = spawnCli(['up', '--no-sample'], {
      SEARCHBUS_METRICS_PORT: String(metricsPort),
      SEARCHBUS_GATEWAY_PORT: String(gatewayPort),
    });
    let upLog = '';
    up.stderr?.on('data', (chunk: Buffer) => (upLog += chunk.toString()));
    up.stdout?.resume();
    try {
      await untilReady(up, `http://127.0.0.1:${metricsPort}/readyz`, () => upLog);

      const ingest = await cli(['ingest', SAMPLE_CORPUS, '--json']);
      assert.equal(ingest.code, 0, ingest.stderr);
      const documents = (await readFile(SAMPLE_CORPUS, 'utf8')).split('\n').filter((l) => l.trim()).length;
      await untilIndexed(qdrant, topology.qdrant.alias, documents);

      const queries = JSON.parse(await readFile(SAMPLE_QUERIES, 'utf8')) as Array<{ query: string; expect: string }>;
      const [first, second] = queries;
      assert.ok(first && second);
      assert.equal(await topHitViaCli(first.query), first.expect);
      const viaGateway = await fetch(`http://127.0.0.1:${gatewayPort}/search?q=${encodeURIComponent(second.query)}&k=3&mode=dense`);
      assert.equal(viaGateway.status, 200);
      assert.equal(((await viaGateway.json()) as { hits: Array<{ docId: string }> }).hits[0]?.docId, second.expect);

      const previous = await aliasTarget(qdrant, topology.qdrant.alias);
      assert.ok(previous, 'the alias points nowhere');
      const reindex = await cli(['reindex', '--model', 'all-minilm-l6-v2', '--watch', '--json']);
      assert.equal(reindex.code, 0, reindex.stderr);
      const result = JSON.parse(reindex.stdout.trim().split('\n').at(-1) ?? '{}') as {
        target?: string;
        previous?: string;
        points?: number;
      };
      assert.equal(result.previous, previous);
      assert.notEqual(result.target, previous);
      assert.equal(await aliasTarget(qdrant, topology.qdrant.alias), result.target);
      assert.ok((result.points ?? 0) >= documents, `rebuilt ${result.points} points for ${documents} documents`);
      assert.equal(await topHitViaCli(second.query), second.expect);

      up.kill('SIGTERM');
      const [code] = (await onceExit(up)) as [number | null];
      assert.equal(code, 0, upLog);
      assertNoSecret(upLog);
    } finally {
      if (up.exitCode === null) up.kill('SIGKILL');
    }
  });

  it('a wrong Kafka password fails at start-up, naming the setting', async () => {
    const run = await cli(['run', 'query'], { KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: WRONG });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /KAFKA_SASL_PASSWORD: authentication failed for user 'searchbus-app' \(SCRAM-SHA-512\)/);
  });

  it('a wrong Redis password fails at start-up, naming the setting', async () => {
    const port = new URL(redis.endpoint.url).port;
    const inUrl = await cli(['run', 'query'], { REDIS_URL: `rediss://${REDIS_USER.username}:${WRONG}@127.0.0.1:${port}` });
    assert.equal(inUrl.code, 1, inUrl.stderr);
    assert.match(inUrl.stderr, /REDIS_URL: authentication failed for user 'searchbus-app'/);

    const separate = {
      ...env,
      REDIS_URL: `rediss://127.0.0.1:${port}`,
      REDIS_USERNAME: REDIS_USER.username,
      REDIS_PASSWORD: WRONG,
    };
    await rejectsNaming(
      getServices({ env: separate, need: ['redis'] }),
      'REDIS_PASSWORD',
      /authentication failed for user 'searchbus-app'/,
    );
    const { REDIS_PASSWORD: _, REDIS_USERNAME: __, ...noPassword } = separate;
    await rejectsNaming(getServices({ env: noPassword, need: ['redis'] }), 'REDIS_PASSWORD', /requires a password/);
  });

  it('a wrong or missing Qdrant API key fails at start-up, naming the setting', async () => {
    const run = await cli(['run', 'query'], { QDRANT_API_KEY: WRONG });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /QDRANT_API_KEY: the server at http:\/\/127\.0\.0\.1:\d+ refused the API key \(HTTP 40[13]\)/);
    const { QDRANT_API_KEY: _, ...noKey } = env;
    await rejectsNaming(getServices({ env: noKey, need: ['qdrant'] }), 'QDRANT_API_KEY', /requires an API key/);
  });

  it('an untrusted certificate fails at start-up, naming the setting', async () => {
    const run = await cli(['run', 'query'], { KAFKA_SSL_CA_FILE: certs.otherCaFile });
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /KAFKA_SSL_CA_FILE: the broker's certificate at 127\.0\.0\.1:\d+ is not trusted by the CA in KAFKA_SSL_CA_FILE/,
    );

    await rejectsNaming(
      getServices({ env: { ...env, REDIS_TLS_CA_FILE: certs.otherCaFile }, need: ['redis'] }),
      'REDIS_TLS_CA_FILE',
      /server's certificate .* is not trusted/,
    );
    const { KAFKA_SSL_CA_FILE: _, ...noCa } = env;
    await rejectsNaming(getServices({ env: noCa, need: ['kafka'] }), 'KAFKA_SSL_CA_FILE', /not trusted by Node's built-in CA certificates/);
  });

  it('every SASL mechanism works; mismatched TLS, mTLS and protocols name the setting', async () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'SCRAM-SHA-512']) {
      const services = await getServices({ env: { ...env, KAFKA_SASL_MECHANISM: mechanism }, need: ['kafka'] });
      assert.equal(services.kafka.sasl?.mechanism, mechanism.toLowerCase());
      // The broker advertises the secured listener to clients that came in through it, so no
      // connection of a role falls back to the plaintext one.
      const admin = createKafka(services.kafka, `test-${namespace}-${mechanism}`).admin();
      await admin.connect();
      try {
        const { brokers } = await admin.describeCluster();
        assert.deepEqual(
          brokers.map((b) => `${b.host}:${b.port}`),
          kafka.secureBrokers,
        );
      } finally {
        await admin.disconnect();
      }
      await services.close();
    }
    const { KAFKA_SSL_CERT_FILE: _c, KAFKA_SSL_KEY_FILE: _k, ...noClientCert } = env;
    await rejectsNaming(getServices({ env: noClientCert, need: ['kafka'] }), 'KAFKA_SSL_CERT_FILE', /requires a client certificate/);
    await rejectsNaming(
      getServices({ env: { KAFKA_BROKERS: env.KAFKA_BROKERS! }, need: ['kafka'] }),
      'KAFKA_SECURITY_PROTOCOL',
      /is plaintext/,
    );
    await rejectsNaming(
      getServices({ env: { ...env, KAFKA_BROKERS: kafka.endpoint.brokers.join(',') }, need: ['kafka'] }),
      'KAFKA_BROKERS',
      /does not speak TLS/,
    );

    // Redis verifies a client certificate when one is given.
    const withClientCert = await getServices({
      env: { ...env, REDIS_TLS_CERT_FILE: certs.clientCertFile, REDIS_TLS_KEY_FILE: certs.clientKeyFile },
      need: ['redis'],
    });
    await withClientCert.close();
    const selfSigned = { ...env, REDIS_TLS_CERT_FILE: certs.otherCaFile, REDIS_TLS_KEY_FILE: join(certs.dir, 'other-ca.key') };
    await rejectsNaming(getServices({ env: selfSigned, need: ['redis'] }), 'REDIS_TLS_CERT_FILE', /refused the client certificate/);
  });
});

async function rejectsNaming(promise: Promise<unknown>, setting: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof ConfigError && error.code === 'endpoint-rejected',
      `expected a ConfigError endpoint-rejected, got ${String(error)}`,
    );
    assert.equal(error.setting, setting, error.message);
    assert.ok(error.message.startsWith(`${setting}: `), error.message);
    assert.match(error.message, pattern);
    for (const secret of [WRONG, KAFKA_USER.password, REDIS_USER.password, QDRANT_KEY])
      assert.ok(!error.message.includes(secret), error.message);
    return true;
  });
}

/** Waits for `url` to answer 200; fails at once, with the process' log, if the process exits first. */
async function untilReady(child: ChildProcess, url: string, log: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      assert.fail(`searchbus up exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log()}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await delay(250);
  }
}

async function untilIndexed(qdrant: QdrantClient, alias: string, documents: number): Promise<void> {
  await waitFor(
    `${documents} documents in ${alias}`,
    async () => {
      const { count } = await qdrant.count(alias, { exact: true, filter: { must: [{ key: 'chunk', match: { value: 0 } }] } });
      return count >= documents ? true : undefined;
    },
    600_000,
  );
}

async function aliasTarget(qdrant: QdrantClient, alias: string): Promise<string | undefined> {
  const { aliases } = await qdrant.getAliases();
  return aliases.find((a) => a.alias_name === alias)?.collection_name;
}

function onceExit(child: ChildProcess): Promise<unknown[]> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve([child.exitCode, child.signalCode]);
  return new Promise((resolve) => child.once('exit', (...args) => resolve(args)));
}
