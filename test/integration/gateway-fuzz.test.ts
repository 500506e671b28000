import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { appendKey, createApiKey } from '../../infra/gateway/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { readScifact } from '../support/corpus.ts';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';
import { buildRequest, rawRequest, type RawResponse } from '../support/raw-http.ts';

// Property-based fuzzing of a real gateway process (`searchbus run gateway`, API keys) on real
// services, through raw HTTP so that bytes fetch() would refuse to send get through too. Every
// input must be answered, within a bound, with JSON: hits of the key's own tenant, or an error
// with a code. The gateway must never crash, hang or answer 500.

const ANSWER_TIMEOUT_MS = 60_000;
const RUNS = { queryStrings: 800, searches: 400, headers: 400, bodies: 800, multipart: 300, requestLines: 300 };

const NUMBERS_AT_LIMITS = [
  '0',
  '-0',
  '1',
  '-1',
  '100',
  '101',
  '1000',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '-9007199254740993',
  '1e308',
  '1e309',
  '-1e309',
  '5e-324',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '1.5',
  '١٢',
  '１０',
  ' 5',
  '5 ',
  '+5',
  '',
];
const ODD_UNICODE = [
  '\u202e',
  '\u200b',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\u{10ffff}',
  'e\u0301',
  '𝕢',
  '\u0000',
  '\u001f',
  '\u2028',
  'ß',
  'İ',
  '🏳️‍🌈',
];
const NAMES = [
  'q',
  'k',
  'filter',
  'tenant',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'tenant[]',
  'q[0]',
  'replyTo',
  'deadline',
  'topK',
];

/** Percent-encodes the UTF-8 bytes (lone surrogates become U+FFFD), or sends some of them raw. */
function encodeComponent(value: string, raw: boolean): string {
  if (raw) return value;
  return [...Buffer.from(value, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}

const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(...ODD_UNICODE),
  fc.array(fc.constantFrom(...ODD_UNICODE), { maxLength: 20 }).map((a) => a.join('')),
  fc.constantFrom(...NUMBERS_AT_LIMITS),
);
const filterJson = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc
    .record({
      must: fc.array(
        fc.record({
          key: fc.constantFrom('tenant', 'year', '__proto__', 'constructor', 'a.b'),
          match: fc.record({ value: fc.jsonValue() }),
        }),
        { maxLength: 3 },
      ),
    })
    .map((f) => JSON.stringify(f)),
  fc.constantFrom(
    '{"__proto__":{"must":[]}}',
    '{"must":[{"key":"tenant","match":{"value":"tenant-b"}}],"__proto__":{"tenant":"tenant-b"}}',
    '{"should":[{"key":"tenant","match":{"any":["tenant-b"]}}]}',
  ),
  fc.nat(2000).map((n) => `${'{"must":['.repeat(n)}`),
);
const paramValue = fc.oneof(
  { weight: 4, arbitrary: oddString },
  { weight: 1, arbitrary: filterJson },
  {
    weight: 1,
    arbitrary: fc.constantFrom('tenant-a', 'tenant-b', 'tenant=tenant-b', 'tenant!=tenant-a', 'year>=1e309', 'k=', '=', 'a'.repeat(4097)),
  },
  { weight: 1, arbitrary: fc.nat(20_000).map((n) => 'x'.repeat(n)) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 30 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  },
);

describe('gateway fuzz (fast-check, real gateway process, raw HTTP)', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;
  let gateway: GatewayProcess;
  let dir: string;
  let key = '';
  const tried: Record<string, number> = {};
  const statuses = new Map<number, number>();

  before(async () => {
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
    const docs: DocumentInput[] = (await readScifact(16)).map((d, i) => {
      const tenant = i % 2 === 0 ? 'tenant-a' : 'tenant-b';
      return { id: `${tenant}-${i}`, title: d.title, text: d.text, tenant, metadata: { tenant, year: 2000 + i } };
    });
    await indexThroughBus(h, encoder, docs);
    stack = await startQueryStack(h, [encoder]);
    dir = await mkdtemp(join(tmpdir(), 'sb-gateway-fuzz-'));
    const keysFile = join(dir, 'keys.jsonl');
    const created = await createApiKey({ tenants: ['tenant-a'], rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } });
    await appendKey(keysFile, created.entry, 'SEARCHBUS_GATEWAY_KEYS_FILE');
    key = created.key;
    gateway = await startGatewayProcess(h, {
      SEARCHBUS_GATEWAY_AUTH: 'api-keys',
      SEARCHBUS_GATEWAY_KEYS_FILE: keysFile,
      SEARCHBUS_QUERY_TIMEOUT_MS: '30000',
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

  /**
   * One input: answered in time, as JSON, hits only of tenant-a or an error with a code; never 500.
   * The search page's static files (`page`: the target is one of their paths) answer 200 with their
   * own type and the page's Content-Security-Policy.
   */
  async function check(kind: string, request: Buffer, method = 'GET', isSearch = true, page = false): Promise<RawResponse> {
    tried[kind] = (tried[kind] ?? 0) + 1;
    const response = await rawRequest(gateway.port, request, ANSWER_TIMEOUT_MS);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    assert.ok(response.status === 200 || (response.status >= 400 && response.status <= 504), `status ${response.status}`);
    if (page && response.status === 200) {
      assert.match(response.headers['content-type'] ?? '', /^text\/(html|javascript|css); charset=utf-8$/);
      assert.match(response.headers['content-security-policy'] ?? '', /^default-src 'none'; script-src 'self'/);
      return response;
    }
    assert.notEqual(response.status, 500, `internal error: ${response.body}`);
    assert.match(response.headers['content-type'] ?? '', /^application\/json/);
    if (method === 'HEAD') return response;
    const body = JSON.parse(response.body) as {
      hits?: Array<{ docId: string; metadata: { tenant?: string } }>;
      error?: { code: unknown; message: unknown };
    };
    if (response.status === 200 && !isSearch) {
      assert.equal((body as { ok?: unknown }).ok, true, response.body.slice(0, 200));
    } else if (response.status === 200) {
      assert.ok(Array.isArray(body.hits), response.body.slice(0, 200));
      for (const hit of body.hits)
        assert.ok(hit.docId.startsWith('tenant-a-') && hit.metadata.tenant === 'tenant-a', `leaked ${hit.docId}`);
    } else {
      assert.equal(typeof body.error?.code, 'string', response.body.slice(0, 200));
      assert.equal(typeof body.error?.message, 'string');
    }
    return response;
  }

  it('answers random and adversarial query strings', async () => {
    const name = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('q', 'k', 'filter', 'tenant') },
      { weight: 1, arbitrary: fc.constantFrom(...NAMES) },
      { weight: 1, arbitrary: oddString },
    );
    const pairs = fc.array(fc.tuple(name, paramValue, fc.boolean(), fc.boolean()), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(
        pairs,
        fc.constantFrom('/search', '/search', '/search', '/readyz', '/healthz', '/%2e%2e/search', '/search/', '//search'),
        async (params, path) => {
          const query = params
            .map(
              ([name, value, rawName, rawValue]) =>
                `${encodeComponent(name, rawName && !/[\s#]/.test(name))}=${encodeComponent(value, rawValue && !/[\s#]/.test(value))}`,
            )
            .join('&');
          await check(
            'query strings',
            buildRequest('GET', `${path}?${query}`, [['authorization', `Bearer ${key}`]]),
            'GET',
            !/healthz|readyz/.test(path),
          );
        },
      ),
      { numRuns: RUNS.queryStrings },
    );
  });

  it('answers searches with adversarial text, k, filters and tenant (through to the query consumer)', async () => {
    const search = fc.record({
      q: fc.oneof(
        oddString.filter((t) => t.trim() !== ''),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
        fc.nat(5000).map((n) => `cell ${'ü'.repeat(n)}`),
      ),
      k: fc.option(fc.constantFrom(...NUMBERS_AT_LIMITS)),
      filters: fc.array(
        fc.oneof(
          filterJson,
          fc.constantFrom('tenant=tenant-b', 'tenant!=tenant-a', 'year>=2000', 'year<1e309', '__proto__=x', 'constructor.prototype=1'),
        ),
        { maxLength: 3 },
      ),
      tenant: fc.option(fc.constantFrom('tenant-a', 'tenant-b', 'TENANT-A', '__proto__', '')),
    });
    await fc.assert(
      fc.asyncProperty(search, async ({ q, k, filters, tenant }) => {
        const parts = [`q=${encodeComponent(q, false)}`];
        if (k !== null) parts.push(`k=${encodeComponent(k, false)}`);
        for (const f of filters) parts.push(`filter=${encodeComponent(f, false)}`);
        if (tenant !== null) parts.push(`tenant=${encodeComponent(tenant, false)}`);
        await check('searches', buildRequest('GET', `/search?${parts.join('&')}`, [['authorization', `Bearer ${key}`]]));
      }),
      { numRuns: RUNS.searches },
    );
  });

  it('answers random and adversarial credentials and headers', async () => {
    const credential = fc.oneof(
      fc.constant(key),
      fc.constant(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.string({ maxLength: 60 }).map((s) => `sbk_${s}`),
      fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map(([a, b, c]) => `${a}.${b}.${c}`),
      fc.constantFrom('eyJhbGciOiJub25lIn0.eyJ0ZW5hbnRzIjoidGVuYW50LWIifQ.', 'null', '__proto__', ''),
      fc.nat(20_000).map((n) => 'k'.repeat(n)),
    );
    const header = fc.oneof(
      fc.tuple(
        fc.constantFrom('authorization', 'Authorization', 'x-api-key'),
        fc.oneof(
          credential.map((c) => `Bearer ${c}`),
          credential,
          credential.map((c) => `Basic ${c}`),
        ),
      ),
      fc.tuple(fc.constantFrom('x-tenant', 'x-forwarded-for', 'cookie', 'accept', 'content-type', '__proto__', 'constructor'), oddString),
      fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,30}$/), oddString),
    );
    const safeHeaders = fc
      .array(header, { maxLength: 6 })
      .map((list) =>
        list
          .filter(([name]) => !/^(host|connection|content-length|transfer-encoding|expect|upgrade)$/i.test(name))
          .map(([n, v]): [string, string] => [n, v.replace(/[\r\n]/g, '')]),
      );
    await fc.assert(
      fc.asyncProperty(safeHeaders, fc.constantFrom('GET', 'HEAD', 'POST'), async (headers, method) => {
        await check(
          'headers',
          buildRequest(method, `/search?q=cell+biology&tenant=tenant-a`, headers, method === 'POST' ? '{"q":"cells"}' : ''),
          method,
        );
      }),
      { numRuns: RUNS.headers },
    );
  });

  it('answers random and adversarial JSON bodies', async () => {
    const field = fc.constantFrom('q', 'k', 'filter', 'tenant', '__proto__', 'constructor', 'prototype', 'replyTo', 'deadline');
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      oddString,
      fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, 0, 100, 101, -1, 2 ** 53),
    );
    const body = fc.oneof(
      fc.dictionary(field, value, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
      fc
        .record({
          q: oddString,
          k: fc.oneof(fc.integer(), fc.double()),
          filter: fc.option(fc.jsonValue({ maxDepth: 4 })),
          tenant: fc.option(fc.constantFrom('tenant-a', 'tenant-b', '__proto__')),
        })
        .map((o) => JSON.stringify(o)),
      fc.constantFrom(
        '{"q":"cells","__proto__":{"tenant":"tenant-b"}}',
        '{"q":"cells","tenant":"tenant-a","filter":{"__proto__":{"must":[]}}}',
        '{"q":"cells","q":"x"}',
        'null',
        '[]',
        '"q"',
        '1e309',
        '',
      ),
      fc.nat(40_000).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.nat(40_000).map((n) => `{"q":"${'a'.repeat(n)}"}`),
      fc.uint8Array({ maxLength: 70_000 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', ''),
        async (text, type) => {
          const headers: Array<[string, string]> = [['authorization', `Bearer ${key}`]];
          if (type !== '') headers.push(['content-type', type]);
          await check(
            'bodies',
            buildRequest(
              'POST',
              '/search',
              headers,
              Buffer.from(text, 'latin1').length === text.length ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8'),
            ),
          );
        },
      ),
      { numRuns: RUNS.bodies },
    );
  });

  it('answers random and adversarial multipart bodies (the search page uploads)', async () => {
    const part = fc.record({
      name: fc.oneof(fc.constantFrom('q', 'k', 'filter', 'tenant', 'mode', 'file', 'file', 'image', '__proto__'), oddString),
      filename: fc.option(fc.oneof(fc.constantFrom('a.jpg', 'b.WAV', 'c.pdf', '', '../../etc/passwd', 'x"y.png'), oddString)),
      type: fc.option(
        fc.constantFrom('image/jpeg', 'audio/wav', 'application/pdf', 'text/plain', 'application/octet-stream', 'image/jpeg; x=1', ''),
      ),
      body: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.constantFrom('cells', 'tenant-b', '5', '-1', 'year>=2000', '{"must":[]}', 'dense', '\xff\xd8\xff\xe0'),
        fc.nat(600_000).map((n) => 'x'.repeat(n)),
      ),
    });
    const form = fc.record({
      parts: fc.array(part, { maxLength: 4 }),
      boundary: fc.constantFrom('XyZ', 'a'.repeat(70), '--', '"quoted"'),
      declared: fc.constantFrom('XyZ', 'a'.repeat(70), '--', '"quoted"', '', 'other'),
      closed: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(form, async ({ parts, boundary, declared, closed }) => {
        const raw = parts
          .map(({ name, filename, type, body }) => {
            const disposition = `form-data; name="${name.replace(/[\r\n]/g, '')}"${filename === null ? '' : `; filename="${filename.replace(/[\r\n]/g, '')}"`}`;
            return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type === null ? '' : `Content-Type: ${type}\r\n`}\r\n${body}\r\n`;
          })
          .join('');
        const body = Buffer.from(`${raw}${closed ? `--${boundary}--\r\n` : ''}`, 'utf8');
        const headers: Array<[string, string]> = [
          ['authorization', `Bearer ${key}`],
          ['content-type', declared === '' ? 'multipart/form-data' : `multipart/form-data; boundary=${declared}`],
        ];
        await check('multipart', buildRequest('POST', '/search', headers, body));
      }),
      { numRuns: RUNS.multipart },
    );
  });

  it('answers broken request lines and methods', async () => {
    const method = fc.oneof(
      fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PATCH', 'get', 'PROPFIND'),
      fc.stringMatching(/^[A-Z]{1,12}$/),
    );
    const target = fc.oneof(
      fc.constantFrom(
        '/search?q=cells',
        '/',
        '/page/search-page.js',
        '/?q=cells',
        '*',
        'http://evil.example/search?q=x',
        '/search?q=%',
        '/search?q=%zz',
        '/%',
        '//',
        '/search#x',
        '/search?q=cells&q=dogs',
      ),
      fc.string({ unit: 'binary', maxLength: 50 }).map((s) => `/${s.replace(/[\r\n]/g, '')}`),
    );
    await fc.assert(
      fc.asyncProperty(method, target, async (m, t) => {
        const pagePath = ['/', '/index.html', '/page/search-page.js', '/page/search-page.css'].includes(t.split('?')[0]!);
        await check('request lines', buildRequest(m, t, [['authorization', `Bearer ${key}`]]), m, true, pagePath);
      }),
      { numRuns: RUNS.requestLines },
    );
  });

  it('is still alive and answering afterwards', async (t) => {
    const total = Object.values(tried).reduce((a, b) => a + b, 0);
    const summary = `gateway fuzz: ${total} inputs (${Object.entries(tried)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`;
    t.diagnostic(summary);
    process.stderr.write(`${summary}\n`);
    assert.equal(gateway.child.exitCode, null, 'the gateway process is running');
    assert.equal((await fetch(gateway.url('/healthz'))).status, 200);
    const response = await fetch(gateway.url('/search?q=cell&k=3'), { headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200);
    assert.ok(((await response.json()) as { hits: unknown[] }).hits.length > 0);
  });
});
