import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EvalSetSummary } from '../../../../consumers/quality/index.ts';
import {
  allowedEvalSetFolder,
  ApiKeyStore,
  createApiKey,
  credentialAuthenticator,
  resolveEvalSetDirs,
  startGateway,
  type AdminBackend,
  type RunningGateway,
} from '../../../../infra/gateway/index.ts';
import { ConfigError, RejectedError } from '../../../../topology/index.ts';

// The HTTP side of /admin/ (in process, no services): who may call it, body limits and content
// types, and which folders a server-side eval set may be read from.

const summary = (name: string, tenant: string): EvalSetSummary => ({
  name,
  tenant,
  split: 'test',
  source: 'upload',
  addedAt: 'now',
  queries: 1,
  judgements: 1,
});

const backend: AdminBackend = {
  listEvalSets: (tenant) => Promise.resolve([summary('claims', tenant)]),
  addEvalSet: (source) => Promise.resolve({ summary: summary(source.name, source.tenant), replaced: false }),
  hasEvalSet: () => Promise.resolve(false),
  requestReindex: () => Promise.resolve({ jobId: '1', created: true }),
  getReindexJob: () => Promise.resolve(null),
};

const searcher = { search: () => Promise.reject(new Error('no search here')), isReady: () => true };

describe('gateway /admin/ over HTTP', () => {
  let gateway: RunningGateway;
  let bare: RunningGateway;
  const keys = { admin: '', search: '' };

  before(async () => {
    const admin = await createApiKey({ tenants: ['acme'], scopes: ['admin'] });
    const search = await createApiKey({ tenants: ['acme'] });
    keys.admin = admin.key;
    keys.search = search.key;
    const authenticator = credentialAuthenticator({ apiKeys: new ApiKeyStore([admin.entry, search.entry]), jwt: null });
    gateway = await startGateway({
      searcher,
      port: 0,
      authenticator,
      limits: { maxBodyBytes: 512, maxUrlBytes: 2048 },
      admin: { backend, maxEvalSetBytes: 4096, shadowSampleRate: 0.05 },
    });
    bare = await startGateway({ searcher, port: 0, authenticator });
  });
  after(async () => {
    await gateway?.close();
    await bare?.close();
  });

  const ask = async (
    path: string,
    init: { method?: string; key?: string; body?: string; type?: string } = {},
    port = gateway.port,
  ): Promise<{ status: number; headers: Headers; body: { error?: { code: string; message: string } } & Record<string, unknown> }> => {
    const headers: Record<string, string> = {};
    if (init.key) headers.authorization = `Bearer ${init.key}`;
    if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as { error?: { code: string; message: string } }) : {},
    };
  };

  it('needs a credential (401), and one with the admin scope (403 for a search-only key)', async () => {
    const none = await ask('/admin/eval-sets');
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="searchbus"/);
    const searchOnly = await ask('/admin/eval-sets', { key: keys.search });
    assert.equal(searchOnly.status, 403);
    assert.equal(searchOnly.body.error?.code, 'forbidden');
    assert.match(searchOnly.body.error?.message ?? '', /admin scope/);
    const admin = await ask('/admin/eval-sets', { key: keys.admin });
    assert.equal(admin.status, 200);
    assert.deepEqual(admin.body, { tenant: 'acme', sets: [summary('claims', 'acme')] });
  });

  it('answers 404 and 405 before asking for a credential, and 404 on a gateway without admin endpoints', async () => {
    assert.equal((await ask('/admin/nothing')).status, 404);
    const wrong = await ask('/admin/reindex', { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    const off = await ask('/admin/eval-sets', { key: keys.admin }, bare.port);
    assert.equal(off.status, 404);
    assert.equal(off.body.error?.code, 'not-found');
  });

  it('takes an uploaded set up to its own limit (above the search body limit), JSON only', async () => {
    const upload = (size: number): string => JSON.stringify({ name: 'claims', queries: 'x'.repeat(size), qrels: '' });
    const accepted = await ask('/admin/eval-sets', { method: 'POST', key: keys.admin, body: upload(2000) });
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    const tooLarge = await ask('/admin/eval-sets', { method: 'POST', key: keys.admin, body: upload(5000) });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error?.code, 'payload-too-large');
    const reindexTooLarge = await ask('/admin/reindex', {
      method: 'POST',
      key: keys.admin,
      body: JSON.stringify({ model: 'x'.repeat(1000) }),
    });
    assert.equal(reindexTooLarge.status, 413, 'other bodies keep the gateway body limit');
    const form = await ask('/admin/reindex', {
      method: 'POST',
      key: keys.admin,
      body: 'model=x',
      type: 'application/x-www-form-urlencoded',
    });
    assert.equal(form.status, 415);
    const broken = await ask('/admin/reindex', { method: 'POST', key: keys.admin, body: '{"model":' });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error?.code, 'invalid-json');
    const queued = await ask('/admin/reindex', { method: 'POST', key: keys.admin, body: JSON.stringify({ model: 'all-minilm-l6-v2' }) });
    assert.equal(queued.status, 202);
    assert.deepEqual(queued.body, { jobId: '1', created: true, status: '/admin/reindex/1' });
  });
});

describe('server-side eval set folders', () => {
  let root: string;
  let outside: string;
  before(async () => {
    const base = await mkdtemp(join(tmpdir(), 'sb-eval-dirs-'));
    root = join(base, 'allowed');
    outside = join(base, 'outside');
    for (const dir of [join(root, 'good', 'qrels'), join(root, 'sneaky', 'qrels'), join(outside, 'qrels')])
      await mkdir(dir, { recursive: true });
    await writeFile(join(root, 'good', 'queries.jsonl'), '');
    await writeFile(join(outside, 'queries.jsonl'), '');
    await writeFile(join(outside, 'qrels', 'test.tsv'), '');
    // A folder inside whose queries file leads outside, and a link to the outside folder itself.
    await symlink(join(outside, 'queries.jsonl'), join(root, 'sneaky', 'queries.jsonl'));
    await symlink(outside, join(root, 'link'));
  });
  after(() => rm(join(root, '..'), { recursive: true, force: true }));

  it('reads only inside an allowed folder, symlinks followed, and refuses everything else', async () => {
    const roots = await resolveEvalSetDirs([root], 'S');
    assert.equal(await allowedEvalSetFolder(join(root, 'good'), 'test', roots), join(roots[0]!, 'good'));
    assert.equal(await allowedEvalSetFolder(`${root}/good/../good/`, 'test', roots), join(roots[0]!, 'good'));
    const refusals = [
      join(root, '..', 'outside'),
      `${root}/../outside`,
      outside,
      '/etc',
      join(root, 'link'),
      join(root, 'sneaky'),
      'relative/path',
    ];
    for (const path of refusals) {
      await assert.rejects(
        allowedEvalSetFolder(path, 'test', roots),
        (e: unknown) => e instanceof RejectedError && e.code === 'eval-set-path-refused',
        path,
      );
    }
    await assert.rejects(allowedEvalSetFolder(join(root, 'missing'), 'test', roots), /does not exist/);
    await assert.rejects(allowedEvalSetFolder(join(root, 'good'), 'test', []), /SEARCHBUS_GATEWAY_EVAL_SET_DIRS is empty/);
    await assert.rejects(
      resolveEvalSetDirs([join(root, 'nope')], 'SEARCHBUS_GATEWAY_EVAL_SET_DIRS'),
      (e: unknown) => e instanceof ConfigError && /SEARCHBUS_GATEWAY_EVAL_SET_DIRS/.test(e.message),
    );
  });
});
