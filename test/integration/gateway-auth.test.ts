import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { silentLogger } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { appendKey, createApiKey, revokeKey, startGatewayService, type GatewayService } from '../../infra/gateway/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { loadConfig } from '../../topology/index.ts';
import { readScifact } from '../support/corpus.ts';
import { gatewayStartupFailure, startGatewayProcess, type GatewayProcess } from '../support/gateway-process.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

// The gateway as `searchbus run gateway` runs it, with API keys and JWTs, on real services. Every
// document carries its tenant in metadata too (as a naive application would), so a filter that
// loosened the tenant condition would find the other tenant's documents.

const JWT_SECRET = 'integration-test-secret-of-32-bytes-or-more';
const ISSUER = 'https://idp.searchbus.test/';
const AUDIENCE = 'searchbus-gateway';

interface Answer {
  status: number;
  headers: Headers;
  body: { hits?: Array<{ docId: string; metadata: { tenant?: string } }>; error?: { code: string; message: string } };
}

describe('gateway authentication', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;
  let gateway: GatewayProcess;
  let dir: string;
  let keysFile: string;
  const keys: Record<'a' | 'ab' | 'limited' | 'doomed', string> = { a: '', ab: '', limited: '', doomed: '' };
  let doomedId = '';
  const aDocs: DocumentInput[] = [];
  const bDocs: DocumentInput[] = [];

  before(async () => {
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
    (await readScifact(24)).forEach((d, i) => {
      const tenant = i % 2 === 0 ? 'tenant-a' : 'tenant-b';
      (i % 2 === 0 ? aDocs : bDocs).push({
        id: `${tenant === 'tenant-a' ? 'a' : 'b'}-${i}`,
        title: d.title,
        text: d.text,
        tenant,
        metadata: { tenant, group: 'shared' },
      });
    });
    await indexThroughBus(h, encoder, [...aDocs, ...bDocs]);
    stack = await startQueryStack(h, [encoder]);
    dir = await mkdtemp(join(tmpdir(), 'sb-gateway-auth-'));
    keysFile = join(dir, 'keys.jsonl');
    const add = async (tenants: string[], rateLimit?: { perSecond: number; burst: number }): Promise<{ key: string; id: string }> => {
      const { key, entry } = await createApiKey({ tenants, ...(rateLimit ? { rateLimit } : {}) });
      await appendKey(keysFile, entry, 'SEARCHBUS_GATEWAY_KEYS_FILE');
      return { key, id: entry.id };
    };
    keys.a = (await add(['tenant-a'])).key;
    keys.ab = (await add(['tenant-a', 'tenant-b'])).key;
    // One token per 100 s after a burst of 2: the third request is refused whatever the machine's speed.
    keys.limited = (await add(['tenant-a'], { perSecond: 0.01, burst: 2 })).key;
    const doomed = await add(['tenant-a']);
    keys.doomed = doomed.key;
    doomedId = doomed.id;
    gateway = await startGatewayProcess(h, {
      SEARCHBUS_GATEWAY_AUTH: 'api-keys,jwt',
      SEARCHBUS_GATEWAY_KEYS_FILE: keysFile,
      SEARCHBUS_GATEWAY_JWT_SECRET: JWT_SECRET,
      SEARCHBUS_GATEWAY_JWT_ISSUER: ISSUER,
      SEARCHBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE,
      SEARCHBUS_GATEWAY_JWT_TENANT_CLAIM: 'tenants',
      SEARCHBUS_GATEWAY_MAX_URL_BYTES: '2048',
      SEARCHBUS_GATEWAY_MAX_BODY_BYTES: '4096',
      SEARCHBUS_QUERY_TIMEOUT_MS: '30000',
      // The default rate (20/s) would refuse the cross-tenant sweep on a fast machine; the 429 case
      // uses a key with its own, tiny rate.
      SEARCHBUS_GATEWAY_RATE_PER_SECOND: '10000',
      SEARCHBUS_GATEWAY_RATE_BURST: '10000',
    });
    await waitFor('gateway ready', async () => ((await fetch(gateway.url('/readyz'))).status === 200 ? true : undefined));
  });

  after(async () => {
    await gateway?.close();
    await stack?.close();
    await encoder?.close();
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function call(path: string, credential: string | null, init: RequestInit = {}): Promise<Answer> {
    const headers = new Headers(init.headers);
    if (credential !== null) headers.set('authorization', `Bearer ${credential}`);
    const response = await fetch(gateway.url(path), { ...init, headers });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
  }
  const q = (text: string): string => encodeURIComponent(text);
  const token = (
    claims: Record<string, unknown>,
    options: { audience?: string; secret?: string; expired?: boolean } = {},
  ): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setSubject('user-42')
      .setExpirationTime(options.expired ? Math.floor(Date.now() / 1000) - 120 : '10m')
      .sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));

  it('answers 401 with WWW-Authenticate without a credential or with a wrong one; health needs none', async () => {
    const none = await call(`/search?q=${q('cells')}`, null);
    assert.equal(none.status, 401);
    assert.equal(none.body.error?.code, 'unauthorized');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="searchbus"');
    const wrong = await call(`/search?q=${q('cells')}`, `${keys.a.slice(0, -4)}AAAA`);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="searchbus", error="invalid_token"');
    for (const bad of ['sbk_nope', 'x.y.z', 'Basic-looking']) assert.equal((await call(`/search?q=${q('cells')}`, bad)).status, 401, bad);
    assert.equal(
      (await fetch(gateway.url('/search?q=cells'), { headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } }))
        .status,
      401,
    );
    assert.equal((await fetch(gateway.url('/healthz'))).status, 200);
    assert.equal((await fetch(gateway.url('/readyz'))).status, 200);
  });

  it("searches the key's tenant, and answers 403 for a tenant the key does not allow", async () => {
    for (const doc of aDocs.slice(0, 4)) {
      const answer = await call(`/search?q=${q(doc.title ?? '')}&k=1`, keys.a);
      assert.equal(answer.status, 200, `${JSON.stringify(answer.body)}\n${gateway.stderr()}\n${JSON.stringify(stack.client.stats)}`);
      assert.equal(answer.body.hits?.[0]?.docId, doc.id);
    }
    const viaHeader = await fetch(gateway.url(`/search?q=${q(aDocs[0]!.title ?? '')}&k=1&tenant=tenant-a`), {
      headers: { 'x-api-key': keys.a },
    });
    assert.equal(viaHeader.status, 200);
    for (const tenant of ['tenant-b', 'TENANT-A', 'tenant-a ', 'tenant-a\u0000', 'default', '*']) {
      const answer = await call(`/search?q=${q('cells')}&tenant=${q(tenant)}`, keys.a);
      assert.equal(answer.status, 403, tenant);
      assert.equal(answer.body.error?.code, 'forbidden');
    }
    const post = await call('/search', keys.a, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ q: 'cells', tenant: 'tenant-b' }),
    });
    assert.equal(post.status, 403);
  });

  it("never lets a key for tenant-a retrieve tenant-b's documents, whatever the parameters and filters", async () => {
    const attacks = (title: string): Array<[string, RequestInit?]> => [
      [`/search?q=${q(title)}&k=20`],
      [`/search?q=${q(title)}&k=20&filter=${q('tenant=tenant-b')}`],
      [`/search?q=${q(title)}&k=20&tenant=tenant-a&filter=${q('tenant=tenant-b')}`],
      [`/search?q=${q(title)}&k=20&filter=${q(JSON.stringify({ should: [{ key: 'tenant', match: { value: 'tenant-b' } }] }))}`],
      [`/search?q=${q(title)}&k=20&filter=${q(JSON.stringify({ must: [{ key: 'tenant', match: { any: ['tenant-a', 'tenant-b'] } }] }))}`],
      [`/search?q=${q(title)}&k=20&filter=${q(JSON.stringify({ mustNot: [{ key: 'tenant', match: { value: 'tenant-a' } }] }))}`],
      [
        `/search?q=${q(title)}&k=20`,
        { headers: { 'x-searchbus-tenant': 'tenant-b', 'x-tenant': 'tenant-b', forwarded: 'tenant=tenant-b' } },
      ],
      [
        '/search',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ q: title, k: 20, filter: { should: [{ key: 'tenant', match: { value: 'tenant-b' } }] } }),
        },
      ],
      [
        '/search',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ q: title, k: 20, filter: ['tenant!=tenant-a'] }),
        },
      ],
    ];
    let searched = 0;
    for (const doc of bDocs) {
      for (const [path, init] of attacks(doc.title ?? '')) {
        const answer = await call(path, keys.a, init);
        assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
        const leaked = (answer.body.hits ?? []).filter((hit) => !hit.docId.startsWith('a-') || hit.metadata.tenant !== 'tenant-a');
        assert.deepEqual(leaked, [], path);
        searched += 1;
      }
    }
    // Parameters the gateway does not define are refused rather than ignored or passed on.
    for (const path of [
      `/search?q=cells&tenant[]=tenant-b`,
      `/search?q=cells&tenant=tenant-a&tenant=tenant-b`,
      `/search?q=cells&replyTo=x`,
    ]) {
      assert.equal((await call(path, keys.a)).status, 400, path);
    }
    assert.ok(searched >= 100);
  });

  it('lets a key for several tenants pick one with tenant, and needs it to', async () => {
    const b = bDocs[0]!;
    const answer = await call(`/search?q=${q(b.title ?? '')}&k=1&tenant=tenant-b`, keys.ab);
    assert.equal(answer.body.hits?.[0]?.docId, b.id);
    const unnamed = await call(`/search?q=${q(b.title ?? '')}`, keys.ab);
    assert.equal(unnamed.status, 400);
    assert.match(unnamed.body.error?.message ?? '', /several tenants/);
    assert.equal((await call(`/search?q=cells&tenant=tenant-c`, keys.ab)).status, 403);
  });

  it('accepts a JWT signed with the shared secret, tenant from its claim; rejects a wrong audience, secret or an expired one', async () => {
    const b = bDocs[1]!;
    const good = await token({ tenants: 'tenant-b' });
    const answer = await call(`/search?q=${q(b.title ?? '')}&k=5`, good);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.hits?.[0]?.docId, b.id);
    assert.ok(answer.body.hits?.every((hit) => hit.docId.startsWith('b-')));
    assert.equal((await call(`/search?q=cells&tenant=tenant-a`, good)).status, 403);
    const both = await token({ tenants: ['tenant-a', 'tenant-b'] });
    assert.equal((await call(`/search?q=${q(aDocs[1]!.title ?? '')}&k=1&tenant=tenant-a`, both)).body.hits?.[0]?.docId, aDocs[1]!.id);
    for (const bad of [
      await token({ tenants: 'tenant-b' }, { audience: 'another-app' }),
      await token({ tenants: 'tenant-b' }, { secret: 'a-different-secret-of-32-bytes-or-more' }),
      await token({ tenants: 'tenant-b' }, { expired: true }),
      await token({ tenant: 'tenant-b' }),
    ]) {
      const refused = await call(`/search?q=cells`, bad);
      assert.equal(refused.status, 401, refused.body.error?.message);
      assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  it('answers 429 with Retry-After once a key exceeds its rate, without touching other keys', async () => {
    // `q=` is refused (400) after the rate check, so these cost no search.
    assert.equal((await call('/search?q=', keys.limited)).status, 400);
    assert.equal((await call('/search?q=', keys.limited)).status, 400);
    const limited = await call('/search?q=', keys.limited);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error?.code, 'rate-limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1, limited.headers.get('retry-after') ?? 'no Retry-After');
    assert.equal((await call('/search?q=', keys.a)).status, 400, 'another key is not limited');
  });

  it('limits the query string (414) and the body (413), and takes only JSON bodies (415)', async () => {
    const long = await call(`/search?q=${'x'.repeat(2100)}`, keys.a);
    assert.equal(long.status, 414);
    assert.equal(long.body.error?.code, 'uri-too-long');
    const big = await call('/search', keys.a, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ q: 'y'.repeat(5000) }),
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.error?.code, 'payload-too-large');
    const text = await call('/search', keys.a, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'q=cells' });
    assert.equal(text.status, 415);
    const json = await call('/search', keys.a, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ q: aDocs[2]!.title, k: 1 }),
    });
    assert.equal(json.body.hits?.[0]?.docId, aDocs[2]!.id);
  });

  it('stops accepting a revoked key without a restart', async () => {
    assert.equal((await call('/search?q=', keys.doomed)).status, 400, 'accepted before');
    assert.equal(await revokeKey(keysFile, doomedId, 'SEARCHBUS_GATEWAY_KEYS_FILE'), true);
    await waitFor(
      'the revoked key refused',
      async () => ((await call('/search?q=', keys.doomed)).status === 401 ? true : undefined),
      60_000,
    );
    assert.equal((await call('/search?q=', keys.a)).status, 400, 'the other keys still work');
    assert.match(gateway.stderr(), /gateway keys file reloaded/);
  });

  it('refuses to start with settings that cannot work, naming the setting', async () => {
    const open = await gatewayStartupFailure(h, { SEARCHBUS_GATEWAY_HOST: '0.0.0.0' });
    assert.equal(open.code, 1);
    assert.match(open.stderr, /SEARCHBUS_GATEWAY_AUTH: the gateway listens on 0\.0\.0\.0/);
    const broken = join(dir, 'broken.jsonl');
    await writeFile(broken, '{"id": "0123456789abcdef", "hash": "plain-text-key", "tenants": ["a"]}\n');
    const badFile = await gatewayStartupFailure(h, { SEARCHBUS_GATEWAY_AUTH: 'api-keys', SEARCHBUS_GATEWAY_KEYS_FILE: broken });
    assert.equal(badFile.code, 1);
    assert.match(badFile.stderr, /SEARCHBUS_GATEWAY_KEYS_FILE: .*broken\.jsonl line 1: hash must be/);
    const jwks = await gatewayStartupFailure(h, {
      SEARCHBUS_GATEWAY_AUTH: 'jwt',
      SEARCHBUS_GATEWAY_JWT_JWKS_FILE: join(dir, 'no-such-jwks.json'),
      SEARCHBUS_GATEWAY_JWT_ISSUER: ISSUER,
      SEARCHBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE,
    });
    assert.equal(jwks.code, 1);
    assert.match(jwks.stderr, /SEARCHBUS_GATEWAY_JWT_JWKS_FILE: .*no-such-jwks\.json is not a usable JWKS/);
  });

  describe('readiness', () => {
    let kafkaProxy: TcpProxy;
    let redisProxy: TcpProxy;
    let service: GatewayService;
    const url = (path: string): string => `http://127.0.0.1:${service.port}${path}`;
    const status = async (path: string): Promise<number> => (await fetch(url(path))).status;
    const readyzBody = async (): Promise<unknown> => (await fetch(url('/readyz'))).json();

    before(async () => {
      // Every Kafka connection (bootstrap and the broker it advertises) goes through one proxy.
      const [host, port] = h.services.kafka.brokers[0]!.split(':') as [string, string];
      kafkaProxy = new TcpProxy(host, Number(port));
      const redisUrl = new URL(h.services.redis.url);
      redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port));
      await Promise.all([kafkaProxy.start(), redisProxy.start()]);
      const kafka = new Kafka({
        clientId: `test-${h.namespace}-ready`,
        brokers: h.services.kafka.brokers,
        connectionTimeout: 2_000,
        retry: { retries: 2, initialRetryTime: 100 },
        logLevel: logLevel.NOTHING,
        socketFactory: ({ onConnect }) => connect({ host: '127.0.0.1', port: kafkaProxy.port }, onConnect),
      });
      redisUrl.host = `127.0.0.1:${redisProxy.port}`;
      service = await startGatewayService({
        kafka,
        redis: createRedis({ url: redisUrl.toString() }, `test-${h.namespace}-ready`),
        topology: h.topology,
        config: loadConfig({ ...h.env, SEARCHBUS_QUERY_TIMEOUT_MS: '30000' }),
        logger: silentLogger,
        port: 0,
        probe: { intervalMs: 200, staleMs: 1_500 },
      });
    });

    after(async () => {
      kafkaProxy?.restore();
      redisProxy?.restore();
      await service?.close();
      await kafkaProxy?.close();
      await redisProxy?.close();
    });

    const searchWorks = async (): Promise<void> => {
      const doc = aDocs[3]!;
      const response = await fetch(url(`/search?q=${q(doc.title ?? '')}&k=1&tenant=tenant-a`));
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as Answer['body']).hits?.[0]?.docId, doc.id);
    };

    it('goes 503 while Redis is unreachable and back to 200 (replies flowing again) after', async () => {
      await waitFor('ready', async () => ((await status('/readyz')) === 200 ? true : undefined));
      redisProxy.cut();
      await waitFor('not ready without Redis', async () => ((await status('/readyz')) === 503 ? true : undefined));
      assert.deepEqual(await readyzBody(), { ok: false, checks: { kafka: true, redis: false } }, 'names Redis as the one down');
      assert.equal(await status('/healthz'), 200, 'still live');
      redisProxy.restore();
      await waitFor('ready again', async () => ((await status('/readyz')) === 200 ? true : undefined));
      await searchWorks();
    });

    it('goes 503 while Kafka is unreachable and back to 200 (searches published again) after', async () => {
      await waitFor('ready', async () => ((await status('/readyz')) === 200 ? true : undefined));
      kafkaProxy.cut();
      await waitFor('not ready without Kafka', async () => ((await status('/readyz')) === 503 ? true : undefined));
      assert.deepEqual(await readyzBody(), { ok: false, checks: { kafka: false, redis: true } }, 'names Kafka as the one down');
      kafkaProxy.restore();
      await waitFor('ready again', async () => ((await status('/readyz')) === 200 ? true : undefined));
      await waitFor('a search answered again', async () => {
        await searchWorks();
        return true;
      });
    });
  });
});
