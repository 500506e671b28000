import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvalSet } from '../../../../consumers/quality/index.ts';
import { runGate, type GateDependencies, type GateRequest } from '../../../../consumers/reindex/index.ts';
import { layoutFor } from '../../../../topology/index.ts';

// The gate's decision with the query path's dependencies replaced by in-memory stand-ins: each
// collection answers each query with a fixed ranking, so the scores and the verdict are known.

const set: EvalSet = {
  name: 'mini',
  tenant: 'acme',
  split: 'test',
  source: '/nowhere',
  addedAt: '2026-01-01T00:00:00.000Z',
  queries: [0, 1, 2, 3].map((i) => ({ id: `q${i}`, text: `query ${i}` })),
  qrels: { q0: { d0: 1 }, q1: { d1: 1 }, q2: { d2: 1 }, q3: { d3: 1 } },
};

/** The query index is its embedding; `rankings[collection][i]` answers query i. */
function deps(
  rankings: Record<string, string[][]>,
  seen: { collections: string[]; models: string[]; tenants: unknown[] },
): GateDependencies {
  return {
    encoder: (modelId) => {
      seen.models.push(modelId);
      return Promise.resolve({
        modelId,
        embedQueries: (texts: string[]) => Promise.resolve(texts.map((t) => new Float32Array([Number(t.split(' ')[1])]))),
      });
    },
    search: (collection, queries) => {
      seen.collections.push(collection);
      seen.tenants.push(...queries.map((q) => JSON.stringify(q.filter)));
      return Promise.resolve(
        queries.map((q) =>
          (rankings[collection]?.[(q.query as number[])[0] ?? -1] ?? []).map((doc, rank) => ({
            id: `${doc}-0`,
            score: 1 - rank / 100,
            payload: { doc_id: doc, chunk: 0, title: doc, text: doc, metadata: {} },
          })),
        ),
      );
    },
    now: Date.now,
    oversampling: 1,
    maxChunksPerQuery: 1000,
    maxBatchSize: 3,
    timeoutMs: 10_000,
    signal: new AbortController().signal,
  };
}

const request = (extra: Partial<GateRequest> = {}): GateRequest => ({
  set: 'mini',
  tenant: 'acme',
  maxNdcgDrop: 0.005,
  force: false,
  ...extra,
});
const LIVE = { collection: 'a__bge-small-en-v1.5__v1', modelId: 'bge-small-en-v1.5', layout: layoutFor(null) };
const NEW = { collection: 'a__all-minilm-l6-v2__v2', modelId: 'all-minilm-l6-v2', layout: layoutFor(null) };

describe('runGate', () => {
  it('refuses a collection whose nDCG@10 drops by more than the margin, with both sides scored by their own model and the set tenant', async () => {
    const seen = { collections: [] as string[], models: [] as string[], tenants: [] as unknown[] };
    const perfect = [['d0'], ['d1'], ['d2'], ['d3']];
    const worse = [['d0'], ['x', 'd1'], ['x'], ['d3']];
    const report = await runGate(request(), set, LIVE, NEW, deps({ [LIVE.collection]: perfect, [NEW.collection]: worse }, seen));
    assert.equal(report.decision, 'refused');
    assert.equal(report.passed, false);
    assert.equal(report.live.ndcg_at_10, 1);
    // q1 finds its document second (1 / log2 3), q2 not at all.
    const expected = (1 + 1 / Math.log2(3) + 0 + 1) / 4;
    assert.ok(Math.abs(report.candidate.ndcg_at_10 - Number(expected.toFixed(5))) < 1e-9);
    assert.equal(report.ndcgDrop, Number((1 - Number(expected.toFixed(5))).toFixed(5)));
    assert.deepEqual(
      [report.comparison.ndcg_at_10.wins, report.comparison.ndcg_at_10.losses, report.comparison.ndcg_at_10.ties],
      [0, 2, 2],
    );
    assert.deepEqual(new Set(seen.models), new Set([LIVE.modelId, NEW.modelId]));
    assert.deepEqual(new Set(seen.collections), new Set([LIVE.collection, NEW.collection]));
    assert.ok(
      seen.tenants.every((f) => typeof f === 'string' && f.includes('"acme"')),
      'every query carries the set tenant',
    );
  });

  it('accepts a drop within the margin (equal counts as within) and records a forced swap', async () => {
    const seen = { collections: [] as string[], models: [] as string[], tenants: [] as unknown[] };
    const same = [['d0'], ['d1'], ['d2'], ['d3']];
    const accepted = await runGate(request(), set, LIVE, NEW, deps({ [LIVE.collection]: same, [NEW.collection]: same }, seen));
    assert.equal(accepted.decision, 'accepted');
    assert.equal(accepted.ndcgDrop, 0);
    const worse = [['x'], ['d1'], ['d2'], ['d3']];
    const lenient = await runGate(
      request({ maxNdcgDrop: 0.25 }),
      set,
      LIVE,
      NEW,
      deps({ [LIVE.collection]: same, [NEW.collection]: worse }, seen),
    );
    assert.equal(lenient.ndcgDrop, 0.25);
    assert.equal(lenient.decision, 'accepted');
    const forced = await runGate(
      request({ force: true }),
      set,
      LIVE,
      NEW,
      deps({ [LIVE.collection]: same, [NEW.collection]: worse }, seen),
    );
    assert.equal(forced.passed, false);
    assert.equal(forced.decision, 'forced');
  });

  it('fails (retriable) rather than score a query that could not be searched', async () => {
    const seen = { collections: [] as string[], models: [] as string[], tenants: [] as unknown[] };
    const broken = deps({}, seen);
    broken.search = () => Promise.reject(Object.assign(new Error('qdrant says no'), { status: 400 }));
    await assert.rejects(
      runGate(request(), set, LIVE, NEW, broken),
      (error: Error & { retriable?: boolean }) => error.retriable === true && /failed/.test(error.message),
    );
  });
});
