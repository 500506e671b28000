import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { GateReport, ReindexProgress, ReindexResult } from '../../consumers/reindex/index.ts';
import { appendKey, createApiKey } from '../../infra/gateway/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { getModelSpec } from '../../topology/index.ts';
import { readScifact, SCIFACT_DIR } from '../support/corpus.ts';
import { report } from '../support/faults.ts';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';

// The gateway's /admin/ endpoints as `searchbus run gateway` serves them, with API keys, on real
// services and real models: eval sets uploaded and read from an allowed folder, per tenant, and a
// gated rebuild (all-MiniLM-L6-v2 -> its int8 variant) requested and followed over HTTP while
// searches flow through the same gateway. Small on purpose (CI time): 20 judged SciFact queries
// and the abstracts they judge plus 40 others, all of tenant acme.

const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));
const MINILM = 'all-minilm-l6-v2';
const INT8 = 'all-minilm-l6-v2-q';
const QUERIES = 20;
const DISTRACTORS = 40;
/** int8's nDCG@10 loss on SciFact is about 0.001-0.008 (README); 20 queries move in steps of up to 0.05. */
const MARGIN = 0.2;

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

interface JobView {
  id: string;
  state: string;
  model: string;
  gate: { set: string; tenant: string; maxNdcgDrop: number; force: boolean } | null;
  progress: ReindexProgress | null;
  result: ReindexResult | null;
  failedReason: string | null;
}

/** The first `count` judged queries of the fixture's train split, their judged abstracts and some others, as a BEIR folder's texts. */
async function miniScifact(): Promise<{ docs: DocumentInput[]; queries: string; qrels: string; texts: string[] }> {
  const qrelLines = (await readFile(join(SCIFACT_DIR, 'qrels', 'train.tsv'), 'utf8'))
    .split('\n')
    .slice(1)
    .filter((l) => l.trim());
  const queryIds: string[] = [];
  const kept: string[] = [];
  for (const line of qrelLines) {
    const queryId = line.split('\t')[0]!;
    if (!queryIds.includes(queryId)) {
      if (queryIds.length === QUERIES) break;
      queryIds.push(queryId);
    }
    kept.push(line);
  }
  const judged = new Set(kept.map((l) => l.split('\t')[1]!));
  const corpus = await readScifact();
  const docs = [...corpus.filter((d) => judged.has(d.id)), ...corpus.filter((d) => !judged.has(d.id)).slice(0, DISTRACTORS)];
  const queryLines = (await readFile(join(SCIFACT_DIR, 'queries.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() && queryIds.includes(String((JSON.parse(l) as { _id: string })._id)));
  return {
    docs: docs.map((d) => ({ ...d, tenant: 'acme' })),
    queries: `${queryLines.join('\n')}\n`,
    qrels: `query-id\tcorpus-id\tscore\n${kept.join('\n')}\n`,
    texts: queryLines.map((l) => (JSON.parse(l) as { text: string }).text),
  };
}

describe('gateway admin endpoints: eval sets and gated rebuilds', () => {
  let h: Harness;
  let encoders: OnnxEncoder[];
  let stack: ReindexStack;
  let gateway: GatewayProcess;
  let dir: string;
  let allowed: string;
  let mini: Awaited<ReturnType<typeof miniScifact>>;
  const keys = { acmeAdmin: '', betaAdmin: '', acmeSearch: '' };

  const call = async (key: string, method: string, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(gateway.url(path), {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  };

  before(async () => {
    h = await createHarness({
      env: {
        SEARCHBUS_REINDEX_GRACE_MS: '60000',
        SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200',
        SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500',
      },
    });
    encoders = await Promise.all([MINILM, INT8].map((id) => loadEncoder(getModelSpec(id))));
    mini = await miniScifact();
    await indexThroughBus(h, encoders[0]!, mini.docs);
    // No live encoder: nothing is published while the rebuild runs.
    stack = await startReindexStack(h, encoders, { live: false, queryTimeoutMs: 30_000 });

    dir = await mkdtemp(join(tmpdir(), 'sb-gateway-admin-'));
    // The folder the gateway may read eval sets from, holding the same set as a BEIR folder.
    allowed = join(dir, 'eval-sets');
    await mkdir(join(allowed, 'scifact-mini', 'qrels'), { recursive: true });
    await writeFile(
      join(allowed, 'scifact-mini', 'corpus.jsonl'),
      mini.docs.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text })).join('\n'),
    );
    await writeFile(join(allowed, 'scifact-mini', 'queries.jsonl'), mini.queries);
    await writeFile(join(allowed, 'scifact-mini', 'qrels', 'train.tsv'), mini.qrels);
    const keysFile = join(dir, 'keys.jsonl');
    const add = async (tenants: string[], admin: boolean): Promise<string> => {
      const { key, entry } = await createApiKey({ tenants, ...(admin ? { scopes: ['admin' as const] } : {}) });
      await appendKey(keysFile, entry, 'SEARCHBUS_GATEWAY_KEYS_FILE');
      return key;
    };
    // The operator's way: `searchbus gateway key add --admin`.
    const cli = await promisify(execFile)(
      process.execPath,
      [CLI, 'gateway', 'key', 'add', '--tenant', 'acme', '--admin', '--file', keysFile, '--json'],
      { env: { ...process.env, ...h.env } },
    );
    const created = JSON.parse(cli.stdout) as { key: string; tenants: string[]; scopes: string[] };
    assert.deepEqual([created.tenants, created.scopes], [['acme'], ['admin']]);
    keys.acmeAdmin = created.key;
    keys.betaAdmin = await add(['beta'], true);
    keys.acmeSearch = await add(['acme'], false);
    gateway = await startGatewayProcess(h, {
      SEARCHBUS_GATEWAY_AUTH: 'api-keys',
      SEARCHBUS_GATEWAY_KEYS_FILE: keysFile,
      SEARCHBUS_GATEWAY_EVAL_SET_DIRS: allowed,
      SEARCHBUS_GATEWAY_RATE_PER_SECOND: '0',
      SEARCHBUS_QUERY_TIMEOUT_MS: '30000',
    });
    await waitFor(
      'the gateway to be ready',
      async () => ((await fetch(gateway.url('/readyz'))).status === 200 ? true : undefined),
      120_000,
      200,
    );
  });

  after(async () => {
    await gateway?.close();
    await stack?.close();
    await Promise.all((encoders ?? []).map((e) => e.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    await h?.close();
  });

  it("stores a tenant's eval sets, uploaded or read from an allowed folder, and shows them to that tenant's admin keys only", async () => {
    const uploaded = await call(keys.acmeAdmin, 'POST', '/admin/eval-sets', {
      name: 'claims',
      split: 'train',
      queries: mini.queries,
      qrels: mini.qrels,
    });
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.queries, QUERIES);
    assert.equal(uploaded.body.tenant, 'acme');
    assert.equal(uploaded.body.source, 'upload');
    const judgements = uploaded.body.judgements as number;
    assert.ok(judgements >= QUERIES);

    const byPath = await call(keys.acmeAdmin, 'POST', '/admin/eval-sets', {
      name: 'claims-folder',
      split: 'train',
      path: join(allowed, 'scifact-mini'),
    });
    assert.equal(byPath.status, 201, JSON.stringify(byPath.body));
    assert.deepEqual([byPath.body.queries, byPath.body.judgements], [QUERIES, judgements], 'the same set, read from the folder');

    const listed = await call(keys.acmeAdmin, 'GET', '/admin/eval-sets');
    assert.deepEqual(
      (listed.body.sets as Array<{ name: string }>).map((s) => s.name),
      ['claims', 'claims-folder'],
    );
    // Tenant isolation: beta's admin sees none of acme's sets and may not name acme.
    assert.deepEqual((await call(keys.betaAdmin, 'GET', '/admin/eval-sets')).body, { tenant: 'beta', sets: [] });
    assert.equal((await call(keys.betaAdmin, 'GET', '/admin/eval-sets?tenant=acme')).status, 403);
    assert.equal(
      (
        await call(keys.betaAdmin, 'POST', '/admin/eval-sets', {
          name: 'x',
          tenant: 'acme',
          path: join(allowed, 'scifact-mini'),
          split: 'train',
        })
      ).status,
      403,
    );
    // A key that may search acme may not administer it.
    const searchOnly = await call(keys.acmeSearch, 'GET', '/admin/eval-sets');
    assert.equal(searchOnly.status, 403);

    // Folders outside the allowed one, even through "..", are refused; broken sets are typed errors.
    for (const path of [SCIFACT_DIR, join(allowed, '..', '..'), `${allowed}/../${'x'}`]) {
      const refused = await call(keys.acmeAdmin, 'POST', '/admin/eval-sets', { name: 'outside', split: 'train', path });
      assert.equal(refused.status, 403, path);
      assert.equal(refused.body.error?.code, 'forbidden');
    }
    const orphan = await call(keys.acmeAdmin, 'POST', '/admin/eval-sets', {
      name: 'broken',
      split: 'train',
      queries: mini.queries,
      qrels: 'query-id\tcorpus-id\tscore\nnope\td1\t1\n',
    });
    assert.equal(orphan.status, 400);
    assert.equal(orphan.body.error?.code, 'invalid-eval-set');
    assert.match(orphan.body.error?.message ?? '', /query nope/);
    assert.deepEqual(
      ((await call(keys.acmeAdmin, 'GET', '/admin/eval-sets')).body.sets as unknown[]).length,
      2,
      'nothing refused was stored',
    );
  });

  it('runs a gated rebuild requested over HTTP, showing shadow overlap while it tails and the gate figures at the end, with 0 failed searches', async () => {
    // Searches through the same gateway, without pause, for the whole rebuild.
    const searches = { answered: 0, failed: [] as string[] };
    let searching = true;
    const loop = (async () => {
      for (let i = 0; searching; i += 1) {
        const q = encodeURIComponent(mini.texts[i % mini.texts.length]!);
        try {
          const response = await fetch(gateway.url(`/search?q=${q}&k=10`), { headers: { authorization: `Bearer ${keys.acmeSearch}` } });
          const body = (await response.json()) as { hits?: unknown[] };
          if (response.status === 200 && Array.isArray(body.hits) && body.hits.length > 0) searches.answered += 1;
          else searches.failed.push(`${response.status} ${JSON.stringify(body).slice(0, 200)}`);
        } catch (error) {
          searches.failed.push((error as Error).message);
        }
      }
    })();

    try {
      const unknownSet = await call(keys.acmeAdmin, 'POST', '/admin/reindex', { model: INT8, gate: 'no-such-set' });
      assert.equal(unknownSet.status, 400);
      assert.equal(unknownSet.body.error?.code, 'unknown-eval-set');
      assert.equal((await call(keys.acmeSearch, 'POST', '/admin/reindex', { model: INT8 })).status, 403);

      const queued = await call(keys.acmeAdmin, 'POST', '/admin/reindex', {
        model: INT8,
        gate: 'claims',
        maxNdcgDrop: MARGIN,
        shadowRate: 1,
        shadowMs: 600_000,
        shadowSamples: 5,
      });
      assert.equal(queued.status, 202, JSON.stringify(queued.body));
      const statusPath = queued.body.status as string;
      assert.equal(statusPath, `/admin/reindex/${queued.body.jobId as string}`);
      const job = async (): Promise<JobView> => {
        const answer = await call(keys.acmeAdmin, 'GET', statusPath);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        return answer.body as unknown as JobView;
      };
      const ended = (view: JobView): boolean => view.state === 'completed' || view.state === 'failed';
      // A job gated on acme's set is not beta's to see.
      assert.equal((await call(keys.betaAdmin, 'GET', statusPath)).status, 404);

      const shadowing = await waitFor(
        'shadow figures in the job status while the rebuild tails the topic',
        async () => {
          const view = await job();
          return (view.state === 'active' && (view.progress?.shadow?.samples ?? 0) > 0) || ended(view) ? view : undefined;
        },
        600_000,
        250,
      );
      assert.equal(
        shadowing.state,
        'active',
        `shadow figures were shown before the rebuild ended (${shadowing.state}: ${shadowing.failedReason ?? ''})`,
      );
      assert.deepEqual(shadowing.gate, { set: 'claims', tenant: 'acme', maxNdcgDrop: MARGIN, force: false });
      assert.ok(['shadowing', 'gating'].includes(shadowing.progress?.phase ?? ''), `phase ${shadowing.progress?.phase ?? '?'}`);
      const live = shadowing.progress!.shadow!;
      assert.ok(live.overlapAt10 !== null && live.overlapAt10 >= 0 && live.overlapAt10 <= 1);
      assert.ok(live.rbo !== null && live.rbo >= 0 && live.rbo <= 1);

      const done = await waitFor(
        'the rebuild to finish',
        async () => {
          const view = await job();
          return ended(view) ? view : undefined;
        },
        900_000,
        250,
      );
      assert.equal(done.state, 'completed', `the rebuild failed: ${done.failedReason ?? ''}`);
      const result = done.result!;
      const gate = result.gate as GateReport;
      report('gateway gated rebuild', {
        live: gate.live,
        candidate: gate.candidate,
        drop: gate.ndcgDrop,
        ndcg: gate.comparison.ndcg_at_10,
        shadow: result.shadow,
      });
      assert.equal(result.outcome, 'swapped');
      assert.equal(result.forced, false);
      assert.equal(gate.decision, 'accepted');
      assert.equal(gate.set, 'claims');
      assert.equal(gate.tenant, 'acme');
      assert.equal(gate.queries, QUERIES);
      assert.equal(gate.live.model, MINILM);
      assert.equal(gate.candidate.model, INT8);
      assert.ok(gate.live.ndcg_at_10 > 0.3 && gate.candidate.ndcg_at_10 > 0.3, 'real scores: the judged abstracts are found');
      assert.ok(gate.ndcgDrop <= MARGIN);
      assert.equal(gate.comparison.ndcg_at_10.wins + gate.comparison.ndcg_at_10.losses + gate.comparison.ndcg_at_10.ties, QUERIES);
      assert.ok(result.shadow && result.shadow.samples >= 5, 'the shadow sample is in the result');
      const alias = (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name;
      assert.equal(alias, result.target);
      assert.match(alias ?? '', /__all-minilm-l6-v2-q__v\d+$/);
    } finally {
      searching = false;
      await loop;
    }
    report('searches through the gateway during the rebuild', { answered: searches.answered, failed: searches.failed.length });
    assert.ok(searches.answered > 0);
    assert.deepEqual(searches.failed, []);
  });
});
