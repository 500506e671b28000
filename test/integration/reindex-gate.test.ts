import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { documentText } from '../../consumers/encoder/index.ts';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { EvalSetStore, ShadowBoard } from '../../consumers/quality/index.ts';
import { formatGate, type ReindexJobSummary, type ReindexQueue, type ReindexRequest } from '../../consumers/reindex/index.ts';
import { readEvalSet } from '../../infra/eval/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { getModelSpec } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact, SCIFACT_DIR } from '../support/corpus.ts';
import { SearchLoad, report } from '../support/faults.ts';
import type { QueryStack } from '../support/query-stack.ts';
import { startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';

// The re-index quality gate and shadow comparison on real services and real models, one stack for
// every case: 303 abstracts of the SciFact fixture (the 153 its 200 judged train queries name, and
// 150 unjudged ones) indexed live with bge-small-en-v1.5, then rebuilds gated on those queries while
// searches flow. Three rebuilds embed the corpus again, so the corpus is as small as keeps the
// models apart: with 1,000 abstracts the file took ~11 minutes in CI.
describe('re-index quality gate', () => {
  const BGE = 'bge-small-en-v1.5';
  const MINILM = 'all-minilm-l6-v2';
  const INT8 = 'all-minilm-l6-v2-q';
  const GRACE_MS = 10 * 60_000;
  const DISTRACTORS = 150;
  let h: Harness;
  let encoders: OnnxEncoder[];
  let reindexing: ReindexStack;
  let stack: QueryStack;
  let queue: ReindexQueue;
  let redis: Redis;
  let load: SearchLoad;

  const aliased = async (): Promise<string | undefined> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name;
  const collections = async (): Promise<string[]> => (await h.qdrant.getCollections()).collections.map((c) => c.name);
  const finished = (jobId: string): Promise<ReindexJobSummary> =>
    waitFor(
      `rebuild job ${jobId} to finish`,
      async () => {
        const job = await queue.get(jobId);
        if (job?.state === 'failed') throw new Error(`rebuild failed: ${job.failedReason ?? ''}`);
        return job?.state === 'completed' ? job : undefined;
      },
      900_000,
      250,
    );
  const gated = (modelId: string, extra: Partial<ReindexRequest> = {}): ReindexRequest => ({
    modelId,
    gate: { set: 'scifact', tenant: 'default', maxNdcgDrop: 0.005, force: false },
    shadow: { rate: 0, holdMs: 0, minSamples: 0 },
    ...extra,
  });

  before(async () => {
    h = await createHarness({
      env: {
        SEARCHBUS_MODEL: BGE,
        SEARCHBUS_REINDEX_GRACE_MS: String(GRACE_MS),
        SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200',
        SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500',
      },
    });
    encoders = await Promise.all([BGE, MINILM, INT8].map((id) => loadEncoder(getModelSpec(id))));
    reindexing = await startReindexStack(h, encoders, { queryTimeoutMs: 30_000 });
    ({ query: stack, queue, redis } = reindexing);

    const evalSet = await readEvalSet('scifact', SCIFACT_DIR, 'train', 'default');
    const judged = new Set(Object.values(evalSet.qrels).flatMap((docs) => Object.keys(docs)));
    // Every judged abstract, so every query can be answered, and the first unjudged ones as
    // distractors: enough that the models rank differently, few enough to embed three times.
    const corpus = await readScifact();
    const distractors = new Set(
      corpus
        .filter((d) => !judged.has(d.id))
        .slice(0, DISTRACTORS)
        .map((d) => d.id),
    );
    const docs = corpus.filter((d) => judged.has(d.id) || distractors.has(d.id));
    assert.equal(docs.length, judged.size + DISTRACTORS);
    const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await producer.upsert(docs);
    await producer.close();
    const bge = await reindexing.encoderOf(BGE);
    const chunks = docs.reduce((s, d) => s + bge.chunk(documentText(d)).length, 0);
    await waitFor(
      'the live bge-small index to hold the fixture',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count === chunks ? true : undefined),
      1_800_000,
      1_000,
    );

    const store = new EvalSetStore(redis, h.topology);
    await store.add(evalSet);
    load = new SearchLoad(stack.client, { concurrency: 2, timeoutMs: 30_000 });
  });

  after(async () => {
    await load?.close();
    await reindexing?.close();
    await Promise.all((encoders ?? []).map((e) => e.close()));
    await h?.close();
  });

  it('stores eval sets per tenant', async () => {
    const store = new EvalSetStore(redis, h.topology);
    assert.deepEqual(
      (await store.list('default')).map((s) => [s.name, s.queries, s.judgements]),
      [['scifact', 200, 225]],
    );
    assert.deepEqual(await store.list('acme'), [], "another tenant sees none of default's sets");
    assert.equal(await store.get('acme', 'scifact'), null);
  });

  it('refuses bge-small-en-v1.5 -> all-MiniLM-L6-v2 with the real scores in the job, keeps the live index serving, and reports shadow overlap meanwhile', async () => {
    const before = await aliased();
    assert.match(before ?? '', /__bge-small-en-v1\.5__v1$/);
    const start = load.snapshot();
    const { jobId } = await queue.request(gated(MINILM, { shadow: { rate: 1, holdMs: 600_000, minSamples: 20 } }));

    const shadowing = await waitFor(
      'shadow figures in the job while it tails the topic',
      async () => {
        const job = await queue.get(jobId);
        if (job?.state !== 'active') throw new Error(`the rebuild ended (${job?.state ?? 'gone'}) before it reported shadow figures`);
        const shadow = job.progress?.shadow;
        return shadow && shadow.samples > 0 ? { ...shadow, phase: job.progress?.phase } : undefined;
      },
      900_000,
      250,
    );
    assert.ok(
      shadowing.phase === 'shadowing' || shadowing.phase === 'gating',
      `shown while it tails the topic (phase ${shadowing.phase ?? '?'})`,
    );
    assert.ok(shadowing.overlapAt10 !== null && shadowing.overlapAt10 >= 0 && shadowing.overlapAt10 <= 1);
    assert.ok(shadowing.rbo !== null && shadowing.rbo >= 0 && shadowing.rbo <= 1);
    assert.ok((shadowing.liveMs.p50 ?? 0) > 0 && (shadowing.shadowMs.p50 ?? 0) > 0);
    assert.ok((await stack.metrics.render()).includes('searchbus_shadow_overlap_at_10_count'), 'the query consumer exposes shadow metrics');

    const done = await finished(jobId);
    const result = done.result;
    assert.equal(result?.outcome, 'refused-by-gate');
    const gate = result.gate;
    assert.ok(gate);
    report('gate refused', {
      live: gate.live,
      candidate: gate.candidate,
      drop: gate.ndcgDrop,
      comparison: gate.comparison.ndcg_at_10,
      shadow: result.shadow,
    });
    report('gate line', { line: formatGate(gate) });
    assert.equal(gate.decision, 'refused');
    assert.equal(gate.queries, 200);
    assert.equal(gate.live.model, BGE);
    assert.equal(gate.candidate.model, MINILM);
    assert.ok(gate.ndcgDrop > 0.005, `nDCG@10 drop ${gate.ndcgDrop}`);
    assert.ok(gate.comparison.ndcg_at_10.losses > gate.comparison.ndcg_at_10.wins);
    assert.ok(result.shadow && result.shadow.samples >= 20, 'the shadow sample is in the result');

    // The live index is untouched, the target kept for inspection, and no search failed.
    assert.equal(await aliased(), before);
    assert.ok((await collections()).includes(result.target), 'the refused collection is kept until the grace period');
    assert.ok(result.dropTargetAt && Date.parse(result.dropTargetAt) > Date.now());
    assert.equal(await new ShadowBoard(redis, h.topology).target(), null, 'mirroring stopped');
    await load.answeredMore(5, 'searches after the refusal');
    const during = load.snapshot();
    assert.ok(during.answered - start.answered > 0);
    assert.equal(load.errors, 0, `failed searches: ${JSON.stringify(during)}`);
  });

  it('swaps anyway with --force and records it', async () => {
    const { jobId } = await queue.request(gated(MINILM, { gate: { set: 'scifact', tenant: 'default', maxNdcgDrop: 0.005, force: true } }));
    const result = (await finished(jobId)).result;
    assert.equal(result?.outcome, 'swapped');
    assert.equal(result.forced, true);
    assert.equal(result.gate?.decision, 'forced');
    assert.equal(await aliased(), result.target);
    assert.equal(load.errors, 0);
  });

  // int8's loss on these 200 queries in hybrid mode varied 0.004-0.008 from run to run on all
  // 1,000 abstracts (its activation scale depends on batch-mates; on the 303 here it gained 0.006
  // in one run), so this rebuild is gated at 0.015: half the 0.03 the MiniLM rebuild above loses,
  // which must still be refused.
  const INT8_MARGIN = 0.015;
  it('swaps to the int8 model when its nDCG@10 drop is within the margin', async () => {
    const { jobId } = await queue.request(
      gated(INT8, { gate: { set: 'scifact', tenant: 'default', maxNdcgDrop: INT8_MARGIN, force: false } }),
    );
    const result = (await finished(jobId)).result;
    report('gate accepted', { live: result?.gate?.live, candidate: result?.gate?.candidate, drop: result?.gate?.ndcgDrop });
    assert.equal(result?.outcome, 'swapped');
    assert.equal(result.gate?.decision, 'accepted');
    assert.ok((result.gate?.ndcgDrop ?? 1) <= INT8_MARGIN);
    assert.equal(result.forced, false);
    assert.match((await aliased()) ?? '', /__all-minilm-l6-v2-q__v4$/);
    const outcomes = await load.close();
    report('searches during the gated rebuilds', { ...outcomes });
    assert.equal(load.errors, 0, `failed searches: ${JSON.stringify(outcomes)}`);
  });
});
