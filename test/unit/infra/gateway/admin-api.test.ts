import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvalSetSummary, ShadowStats } from '../../../../consumers/quality/index.ts';
import type { ReindexJobSummary, ReindexRequest, ReindexResult } from '../../../../consumers/reindex/index.ts';
import {
  handleAdmin,
  matchAdminRoute,
  type AdminBackend,
  type AdminRoute,
  type EvalSetSource,
  type Principal,
} from '../../../../infra/gateway/index.ts';
import { ContractError, RejectedError } from '../../../../topology/index.ts';

// The /admin/ endpoints' logic over an in-memory backend: routing, validation, tenant choice and
// isolation, the rebuild request they queue and the job view they return.

class MemoryBackend implements AdminBackend {
  sets = new Map<string, EvalSetSummary>();
  added: EvalSetSource[] = [];
  requests: ReindexRequest[] = [];
  jobs = new Map<string, ReindexJobSummary>();
  failWith: Error | null = null;

  listEvalSets(tenant: string): Promise<EvalSetSummary[]> {
    return Promise.resolve([...this.sets.values()].filter((s) => s.tenant === tenant));
  }
  addEvalSet(source: EvalSetSource): Promise<{ summary: EvalSetSummary; replaced: boolean }> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.added.push(source);
    const key = `${source.tenant}/${source.name}`;
    const replaced = this.sets.has(key);
    const summary: EvalSetSummary = {
      name: source.name,
      tenant: source.tenant,
      split: source.split,
      source: 'path' in source ? source.path : 'upload',
      addedAt: 'now',
      queries: 2,
      judgements: 3,
    };
    this.sets.set(key, summary);
    return Promise.resolve({ summary, replaced });
  }
  hasEvalSet(tenant: string, name: string): Promise<boolean> {
    return Promise.resolve(this.sets.has(`${tenant}/${name}`));
  }
  requestReindex(request: ReindexRequest): Promise<{ jobId: string; created: boolean }> {
    this.requests.push(request);
    return Promise.resolve({ jobId: String(this.requests.length), created: this.requests.length === 1 });
  }
  getReindexJob(jobId: string): Promise<ReindexJobSummary | null> {
    return Promise.resolve(this.jobs.get(jobId) ?? null);
  }
}

const acmeAdmin: Principal = { id: 'key:a', tenants: ['acme'], rateLimit: null, admin: true };
const twoTenants: Principal = { id: 'key:b', tenants: ['acme', 'beta'], rateLimit: null, admin: true };
const betaAdmin: Principal = { id: 'key:c', tenants: ['beta'], rateLimit: null, admin: true };
const open: Principal = { id: 'anonymous', tenants: 'any', rateLimit: null, admin: true };

function route(method: string, path: string): AdminRoute {
  const matched = matchAdminRoute(method, path);
  assert.ok(matched.ok, `${method} ${path}`);
  return matched.route;
}

async function call(
  backend: MemoryBackend,
  principal: Principal,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(path, 'http://gateway');
  const answer = await handleAdmin(
    { route: route(method, url.pathname), principal, params: url.searchParams, body },
    { backend, shadowSampleRate: 0.05 },
  );
  return answer as { status: number; body: Record<string, unknown> };
}

function errorCode(answer: { body: Record<string, unknown> }): string {
  return (answer.body.error as { code: string }).code;
}

function job(id: string, tenant: string | null, extra: Partial<ReindexJobSummary> = {}): ReindexJobSummary {
  return {
    id,
    name: 'rebuild',
    state: 'completed',
    data: {
      modelId: 'all-minilm-l6-v2-q',
      alias: 'ns.docs',
      ...(tenant !== null
        ? {
            gate: {
              set: 'claims',
              tenant,
              maxNdcgDrop: 0.01,
              force: false,
              inline: {
                name: 'claims',
                tenant,
                split: 'test',
                source: 's',
                addedAt: 'now',
                queries: [{ id: 'q', text: 'secret query' }],
                qrels: {},
              },
            },
          }
        : {}),
    },
    progress: null,
    result: null,
    failedReason: null,
    attemptsMade: 1,
    createdAt: 'then',
    finishedAt: 'now',
    ...extra,
  };
}

describe('gateway /admin/ endpoints', () => {
  it('routes the four endpoints, and answers 404 or 405 with Allow otherwise', () => {
    assert.deepEqual(matchAdminRoute('GET', '/admin/eval-sets'), { ok: true, route: { name: 'list-eval-sets' } });
    assert.deepEqual(matchAdminRoute('HEAD', '/admin/eval-sets'), { ok: true, route: { name: 'list-eval-sets' } });
    assert.deepEqual(matchAdminRoute('POST', '/admin/eval-sets'), { ok: true, route: { name: 'add-eval-set' } });
    assert.deepEqual(matchAdminRoute('POST', '/admin/reindex'), { ok: true, route: { name: 'request-reindex' } });
    assert.deepEqual(matchAdminRoute('GET', '/admin/reindex/42'), { ok: true, route: { name: 'get-reindex-job', jobId: '42' } });
    assert.deepEqual(matchAdminRoute('DELETE', '/admin/eval-sets'), { ok: false, status: 405, allow: ['GET', 'HEAD', 'POST'] });
    assert.deepEqual(matchAdminRoute('GET', '/admin/reindex'), { ok: false, status: 405, allow: ['POST'] });
    for (const path of [
      '/admin',
      '/admin/',
      '/admin/reindex/a/b',
      '/admin/reindex/%E0%A4%A',
      '/admin/reindex/a%20b',
      '/admin/eval-sets/x',
    ]) {
      assert.deepEqual(matchAdminRoute('GET', path), { ok: false, status: 404 }, path);
    }
  });

  it("lists a tenant's eval sets: the credential's only tenant, the one named among several, 403 for another", async () => {
    const backend = new MemoryBackend();
    await backend.addEvalSet({ name: 'claims', tenant: 'acme', split: 'test', queries: '', qrels: '' });
    await backend.addEvalSet({ name: 'other', tenant: 'beta', split: 'test', queries: '', qrels: '' });
    const own = await call(backend, acmeAdmin, 'GET', '/admin/eval-sets');
    assert.equal(own.status, 200);
    assert.equal(own.body.tenant, 'acme');
    assert.deepEqual(
      (own.body.sets as EvalSetSummary[]).map((s) => s.name),
      ['claims'],
    );
    assert.deepEqual(
      ((await call(backend, betaAdmin, 'GET', '/admin/eval-sets')).body.sets as EvalSetSummary[]).map((s) => s.name),
      ['other'],
    );
    const forbidden = await call(backend, betaAdmin, 'GET', '/admin/eval-sets?tenant=acme');
    assert.equal(forbidden.status, 403);
    assert.equal(errorCode(forbidden), 'forbidden');
    assert.equal((await call(backend, twoTenants, 'GET', '/admin/eval-sets')).status, 400, 'several tenants: name one');
    assert.equal((await call(backend, twoTenants, 'GET', '/admin/eval-sets?tenant=beta')).body.tenant, 'beta');
    assert.equal((await call(backend, open, 'GET', '/admin/eval-sets')).body.tenant, 'default', 'no authentication: the default tenant');
    assert.equal(errorCode(await call(backend, acmeAdmin, 'GET', '/admin/eval-sets?name=x')), 'invalid-request');
    assert.equal(errorCode(await call(backend, open, 'GET', '/admin/eval-sets?tenant=a&tenant=b')), 'invalid-request');
  });

  it('adds an uploaded set or a server-side folder to the chosen tenant, and refuses malformed requests', async () => {
    const backend = new MemoryBackend();
    const upload = { name: 'claims', split: 'train', queries: '{"_id":"1","text":"q"}', qrels: '1\td1\t1' };
    const created = await call(backend, acmeAdmin, 'POST', '/admin/eval-sets', upload);
    assert.equal(created.status, 201);
    assert.equal(created.body.replaced, false);
    assert.deepEqual(backend.added[0], { ...upload, tenant: 'acme' });
    assert.equal((await call(backend, acmeAdmin, 'POST', '/admin/eval-sets', upload)).status, 200, 'replaced');
    await call(backend, twoTenants, 'POST', '/admin/eval-sets', { name: 'byPath', tenant: 'beta', path: '/srv/beir/x' });
    assert.deepEqual(backend.added[2], { name: 'byPath', tenant: 'beta', split: 'test', path: '/srv/beir/x' });
    assert.equal((await call(backend, acmeAdmin, 'POST', '/admin/eval-sets', { ...upload, tenant: 'beta' })).status, 403);

    const refused: Array<[unknown, RegExp]> = [
      [[], /JSON object/],
      [{ ...upload, extra: 1 }, /unknown field.*"extra"/],
      [{ ...upload, name: '' }, /name is required/],
      [{ ...upload, name: 'a/b' }, /name must match/],
      [{ ...upload, split: '../x' }, /split must match/],
      [{ ...upload, split: 'a/b' }, /split must match/],
      [{ ...upload, path: '/srv/x' }, /either path, or queries and qrels/],
      [{ name: 'claims', queries: 'x' }, /give path/],
      [{ ...upload, qrels: 3 }, /qrels must be a string/],
    ];
    for (const [body, message] of refused) {
      const answer = await call(backend, acmeAdmin, 'POST', '/admin/eval-sets', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.match((answer.body.error as { message: string }).message, message);
    }
    assert.equal(backend.added.length, 3, 'nothing refused reached the backend');
  });

  it("maps the backend's typed errors: a broken BEIR file 400, a folder outside the allowed ones 403; others propagate", async () => {
    const backend = new MemoryBackend();
    const body = { name: 'claims', path: '/etc' };
    const cases: Array<[Error, number, string]> = [
      [new ContractError('beir-format', 'queries.jsonl:3: bad'), 400, 'invalid-eval-set'],
      [new ContractError('invalid-eval-set', 'eval set claims has no judged queries'), 400, 'invalid-eval-set'],
      [new RejectedError('eval-set-path-refused', '/etc is not inside a folder'), 403, 'forbidden'],
      [new ContractError('unknown-model', 'Unknown model "x"'), 400, 'unknown-model'],
    ];
    for (const [error, status, code] of cases) {
      backend.failWith = error;
      const answer = await call(backend, acmeAdmin, 'POST', '/admin/eval-sets', body);
      assert.equal(answer.status, status, (error as ContractError).code);
      assert.equal(errorCode(answer), code);
    }
    backend.failWith = new Error('redis down');
    await assert.rejects(call(backend, acmeAdmin, 'POST', '/admin/eval-sets', body), /redis down/);
  });

  it("queues a gated rebuild with the tenant's own set and the defaults the CLI uses", async () => {
    const backend = new MemoryBackend();
    await backend.addEvalSet({ name: 'claims', tenant: 'acme', split: 'test', queries: '', qrels: '' });
    const queued = await call(backend, acmeAdmin, 'POST', '/admin/reindex', { model: 'all-minilm-l6-v2-q', gate: 'claims' });
    assert.equal(queued.status, 202);
    assert.deepEqual(queued.body, { jobId: '1', created: true, status: '/admin/reindex/1' });
    assert.deepEqual(backend.requests[0], {
      modelId: 'all-minilm-l6-v2-q',
      shadow: { rate: 0.05, holdMs: 0, minSamples: 0 },
      gate: { set: 'claims', tenant: 'acme', maxNdcgDrop: 0.005, force: false },
    });
    const again = await call(backend, acmeAdmin, 'POST', '/admin/reindex', {
      model: 'bge-small-en-v1.5',
      gate: 'claims',
      maxNdcgDrop: 0.02,
      force: true,
      shadowRate: 1,
      shadowMs: 60_000,
      shadowSamples: 20,
    });
    assert.equal(again.status, 200, 'a rebuild already queued: its job, not a new one');
    assert.deepEqual(backend.requests[1], {
      modelId: 'bge-small-en-v1.5',
      shadow: { rate: 1, holdMs: 60_000, minSamples: 20 },
      gate: { set: 'claims', tenant: 'acme', maxNdcgDrop: 0.02, force: true },
    });
    assert.deepEqual(backend.requests.length, 2);
    // Without a gate: a plain rebuild.
    await call(backend, acmeAdmin, 'POST', '/admin/reindex', { model: 'all-minilm-l6-v2' });
    assert.deepEqual(backend.requests[2], { modelId: 'all-minilm-l6-v2', shadow: { rate: 0.05, holdMs: 0, minSamples: 0 } });
  });

  it("refuses a rebuild gated on another tenant's set, an unknown set or model, and bad options", async () => {
    const backend = new MemoryBackend();
    await backend.addEvalSet({ name: 'claims', tenant: 'acme', split: 'test', queries: '', qrels: '' });
    const cases: Array<[Principal, unknown, number, string]> = [
      [betaAdmin, { model: 'all-minilm-l6-v2', gate: 'claims' }, 400, 'unknown-eval-set'],
      [betaAdmin, { model: 'all-minilm-l6-v2', gate: 'claims', tenant: 'acme' }, 403, 'forbidden'],
      [acmeAdmin, { model: 'no-such-model', gate: 'claims' }, 400, 'unknown-model'],
      [acmeAdmin, { gate: 'claims' }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', maxNdcgDrop: 0.1 }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', force: true }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', tenant: 'acme' }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', gate: 'claims', maxNdcgDrop: -0.1 }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', gate: 'claims', maxNdcgDrop: '0.1' }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', gate: 'claims', force: 'yes' }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', shadowRate: 2 }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', shadowMs: 1.5 }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', shadowSamples: -1 }, 400, 'invalid-request'],
      [acmeAdmin, { model: 'all-minilm-l6-v2', graceMs: 1 }, 400, 'invalid-request'],
    ];
    for (const [principal, body, status, code] of cases) {
      const answer = await call(backend, principal, 'POST', '/admin/reindex', body);
      assert.equal(answer.status, status, JSON.stringify(body));
      assert.equal(errorCode(answer), code, JSON.stringify(body));
    }
    assert.equal(backend.requests.length, 0);
  });

  it("shows a rebuild job with its figures, hides the inline set's queries, and hides jobs gated on another tenant's set", async () => {
    const backend = new MemoryBackend();
    const shadow: ShadowStats = {
      collection: 't',
      samples: 7,
      errors: 0,
      overlapAt10: 0.5,
      rbo: 0.4,
      liveMs: { p50: 10, p95: 20 },
      shadowMs: { p50: 5, p95: 9 },
    };
    const result: ReindexResult = {
      outcome: 'refused-by-gate',
      alias: 'ns.docs',
      target: 't',
      previous: 'p',
      modelId: 'all-minilm-l6-v2-q',
      points: 3,
      seconds: 1,
      dropPreviousAt: null,
      dropTargetAt: 'later',
      shadow,
    };
    backend.jobs.set('1', job('1', 'acme', { result }));
    backend.jobs.set('2', job('2', null));
    backend.jobs.set('3', { ...job('3', null), name: 'drop-collection' });
    const shown = await call(backend, acmeAdmin, 'GET', '/admin/reindex/1');
    assert.equal(shown.status, 200);
    assert.equal(shown.body.model, 'all-minilm-l6-v2-q');
    assert.deepEqual(shown.body.gate, { set: 'claims', tenant: 'acme', maxNdcgDrop: 0.01, force: false });
    assert.equal((shown.body.result as { outcome: string }).outcome, 'refused-by-gate');
    assert.deepEqual((shown.body.result as { shadow: unknown }).shadow, shadow);
    assert.ok(!JSON.stringify(shown.body).includes('secret query'), 'an inline set stays in the job');
    assert.equal((await call(backend, betaAdmin, 'GET', '/admin/reindex/1')).status, 404, "another tenant's gate");
    assert.equal((await call(backend, open, 'GET', '/admin/reindex/1')).status, 200);
    assert.equal((await call(backend, betaAdmin, 'GET', '/admin/reindex/2')).status, 200, 'an ungated rebuild: any admin');
    assert.equal((await call(backend, acmeAdmin, 'GET', '/admin/reindex/3')).status, 404, 'not a rebuild');
    assert.equal((await call(backend, acmeAdmin, 'GET', '/admin/reindex/9')).status, 404);
    assert.equal((await call(backend, acmeAdmin, 'GET', '/admin/reindex/1?x=1')).status, 400);
  });
});
