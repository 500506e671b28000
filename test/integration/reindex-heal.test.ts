import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { EncoderConsumer, documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { ReindexQueue, type RebuildState, type ReindexJobData, type ReindexProgress } from '../../consumers/reindex/index.ts';
import { RedisWriteFences, type WriteFence } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { ensureCollection, getModelSpec, parseCollectionName } from '../../topology/index.ts';
import { readScifact, type CorpusDoc } from '../support/corpus.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startRoleProcess } from '../support/role-process.ts';

// The write fence on real Redis: the Lua transitions that leases, take-overs and rewinds rely on.
describe('write fence leases (Redis)', () => {
  let h: Harness;
  let redis: Redis;
  let fences: RedisWriteFences;

  before(async () => {
    h = await createHarness({ need: ['kafka', 'redis', 'qdrant'], apply: false });
    redis = createRedis(h.services.redis, `test-${h.namespace}-fences`);
    fences = new RedisWriteFences(redis, h.topology);
  });

  after(async () => {
    redis?.disconnect();
    await h?.close();
  });

  const lapse = (collection: string): Promise<true> =>
    waitFor(
      `the lease on ${collection} to lapse`,
      async () => {
        const { fences: all, nowMs } = await fences.list();
        const fence = all.get(collection);
        return fence?.state === 'closed' && fence.lease && fence.lease.expiresAt <= nowMs ? true : undefined;
      },
      30_000,
      20,
    );

  it('grants one owner at a time, renews it, and lets another in only once it lapses', async () => {
    const c = `${h.namespace}-a`;
    const first = await fences.acquire(c, { owner: 'tok-1', jobId: '1', groupId: 'g' }, 60_000, true);
    assert.equal(first.outcome, 'acquired');
    const second = await fences.acquire(c, { owner: 'tok-2', jobId: '1', groupId: 'g' }, 60_000, true);
    assert.equal(second.outcome, 'held');
    assert.equal(second.outcome === 'held' && second.lease.owner, 'tok-1');
    assert.equal(
      (await fences.acquire(c, { owner: 'tok-1', jobId: '1', groupId: 'g' }, 60_000, true)).outcome,
      'acquired',
      'the holder re-acquires',
    );
    assert.equal(await fences.renew(c, 'tok-1', 60_000), true);
    assert.equal(await fences.renew(c, 'tok-2', 60_000), false, 'only the holder renews');
    assert.equal(await fences.holds(c, 'tok-1', 30_000), true);
    assert.equal(await fences.holds(c, 'tok-1', 61_000), false, 'less lease left than the write margin');
    assert.equal(await fences.takeOverLapsed(c, () => assert.fail('a running lease is not taken over')).then((f) => f?.state), 'closed');

    await fences.acquire(c, { owner: 'tok-1', jobId: '1', groupId: 'g' }, 100, true);
    await lapse(c);
    assert.equal(
      (await fences.acquire(c, { owner: 'tok-2', jobId: '1', groupId: 'g' }, 60_000, true)).outcome,
      'acquired',
      'a lapsed lease is taken',
    );
    assert.equal(await fences.renew(c, 'tok-1', 60_000), false, 'the old holder has lost it');
    assert.equal(await fences.reopen(c, { '0': '5' }, 'owner', 'tok-1'), false);
    assert.equal(await fences.reopen(c, { '0': '5' }, 'owner', 'tok-2'), true);
    assert.deepEqual(await fences.get(c), { state: 'open', offsets: { '0': '5' } }, 'the holder releases without a rewind');
    assert.equal(
      (await fences.acquire(c, { owner: 'tok-3', jobId: '2', groupId: 'g' }, 60_000, false)).outcome,
      'open',
      'a taken-over fence is not closed again',
    );
  });

  it('lets exactly one of many racing encoders reopen a lapsed fence, with a rewind', async () => {
    const c = `${h.namespace}-b`;
    await fences.acquire(c, { owner: 'tok-1', jobId: '1', groupId: 'g-b' }, 100, true);
    await lapse(c);
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => fences.reopen(c, { '0': String(i) }, 'lapsed', 'tok-1')));
    assert.equal(results.filter(Boolean).length, 1);
    const winner = String(results.indexOf(true));
    assert.deepEqual(await fences.get(c), { state: 'open', offsets: { '0': winner }, rewind: { '0': winner } });

    const groups: string[] = [];
    const taken = await Promise.all(
      Array.from({ length: 4 }, () => fences.takeOverLapsed(c, (g) => Promise.resolve((groups.push(g), { '0': '99' })))),
    );
    assert.ok(
      taken.every((f) => f?.state === 'open' && f.offsets['0'] === winner),
      'an open fence is left as it is',
    );
    assert.equal(groups.length, 0);
  });

  it('takes a lapsed fence over at the offsets of the group named in its lease, and tracks and ends rewinds one group and partition at a time', async () => {
    const c = `${h.namespace}-c`;
    await fences.acquire(c, { owner: 'tok-9', jobId: '9', groupId: 'g-c' }, 100, true);
    await lapse(c);
    const asked: string[] = [];
    const fence = await fences.takeOverLapsed(c, (g) => Promise.resolve((asked.push(g), { '0': '10', '1': '20' })));
    assert.deepEqual(asked, ['g-c']);
    assert.deepEqual(fence, { state: 'open', offsets: { '0': '10', '1': '20' }, rewind: { '0': '10', '1': '20' } });
    const rewind = { '0': '10', '1': '20' };
    await fences.clearRewind(c, 'g-text', 0, '11');
    await fences.markCaught(c, 'g-text', 0, '11', '30');
    assert.deepEqual(await fences.get(c), { state: 'open', offsets: rewind, rewind }, 'stale updates change nothing');
    await fences.markCaught(c, 'g-text', 0, '10', '30');
    await fences.markCaught(c, 'g-media', 0, '10', '25');
    assert.deepEqual(((await fences.get(c)) as Extract<WriteFence, { state: 'open' }>).caught, { 'g-text/0': '30', 'g-media/0': '25' });
    await fences.clearRewind(c, 'g-text', 0, '10');
    // The text group is done with partition 0; the media group still owes its rewind there.
    assert.deepEqual(await fences.get(c), { state: 'open', offsets: rewind, rewind, caught: { 'g-media/0': '25' }, rewound: ['g-text/0'] });
    await fences.clearRewind(c, 'g-text', 0, '10');
    await fences.clearRewind(c, 'g-media', 0, '10');
    await fences.clearRewind(c, 'g-text', 1, '20');
    assert.deepEqual(
      await fences.get(c),
      { state: 'open', offsets: rewind, rewind, rewound: ['g-text/0', 'g-media/0', 'g-text/1'] },
      'each group ends its own rewind once; the rewind stays for groups that have not',
    );
  });

  it('counts a closed fence from before leases as lapsed', async () => {
    const c = `${h.namespace}-d`;
    await redis.hset(`${h.topology.redis.keyPrefix}write-fences`, c, JSON.stringify({ state: 'closed' }));
    const fence = await fences.takeOverLapsed(c, (g) => Promise.resolve<Record<string, string>>(g === '' ? { '0': '3' } : {}));
    assert.deepEqual(fence, { state: 'open', offsets: { '0': '3' }, rewind: { '0': '3' } });
  });
});

// kill -9 of the reindex worker process at each phase, again and again, until BullMQ fails the job
// as stalled (which runs no catch block). Live writes must flow afterwards, nothing may be lost or
// duplicated, the alias must serve a complete collection and nothing orphaned may remain.
describe('re-index worker killed at each phase until BullMQ gives up', () => {
  const FP32 = 'all-minilm-l6-v2';
  const INT8 = 'all-minilm-l6-v2-q';
  const MAX_STALLED = 1;
  let h: Harness;
  let fp32: OnnxEncoder;
  let int8: OnnxEncoder;
  let live: EncoderConsumer;
  let redis: Redis;
  let fences: RedisWriteFences;
  let queue: ReindexQueue;
  let producer: IngestProducer;
  const children: ChildProcess[] = [];
  /** The latest version of every document published, by id. */
  const published = new Map<string, CorpusDoc>();
  const workerLogs: string[] = [];

  const encoderOf = (modelId: string): OnnxEncoder => (modelId === INT8 ? int8 : fp32);
  const aliasTarget = async (): Promise<string | undefined> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name;

  before(async () => {
    h = await createHarness({
      env: {
        // Long enough that a worker starved of CPU on a shared machine keeps its job lock (a lost
        // lock lets BullMQ start a second attempt beside the first), short enough to be quick.
        SEARCHBUS_REINDEX_LOCK_DURATION_MS: '6000',
        SEARCHBUS_REINDEX_MAX_STALLED_COUNT: String(MAX_STALLED),
        SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '100',
        SEARCHBUS_FENCE_LEASE_MS: '20000',
        // Long enough that a busy live encoder keeps writing the previous collection for a while
        // after a swap, past where a rebuild killed then stopped: the take-over must rewind.
        SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '5000',
        SEARCHBUS_REINDEX_GRACE_MS: '10000',
        SEARCHBUS_MAX_RETRY_DELAY_MS: '300',
        // Short batches heartbeat often: the machine running this may be heavily shared.
        SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '8',
      },
    });
    [fp32, int8] = await Promise.all([loadEncoder(getModelSpec(FP32)), loadEncoder(getModelSpec(INT8))]);
    redis = createRedis(h.services.redis, `test-${h.namespace}`);
    fences = new RedisWriteFences(redis, h.topology);
    live = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: (modelId) => Promise.resolve(documentEncoder(encoderOf(modelId))),
      fences,
    });
    await live.start();
    queue = new ReindexQueue({ connection: redis, redis, topology: h.topology, config: h.config });
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await publish(await readScifact(150));
    await indexComplete('the live index holds the corpus');
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await producer?.close();
    await queue?.queue.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    redis?.disconnect();
    await live?.close();
    await Promise.all([fp32?.close(), int8?.close()]);
    await h?.close();
  });

  async function publish(docs: CorpusDoc[]): Promise<void> {
    await producer.upsert(docs);
    for (const d of docs) published.set(d.id, d);
  }

  function startWorker(): ChildProcess {
    const child = startRoleProcess(h, 'reindex');
    if (child.stderr) createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => workerLogs.push(line));
    children.push(child);
    return child;
  }

  async function kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Each scenario starts with no worker running, whatever the previous one left. */
  async function killAll(): Promise<void> {
    for (const child of children) await kill(child);
  }

  /** The collection behind the alias holds exactly the latest version of every published document. */
  async function indexComplete(what: string): Promise<string> {
    return waitFor(
      what,
      async () => {
        const collection = await aliasTarget();
        if (!collection) return undefined;
        const model = parseCollectionName(collection)?.modelId ?? FP32;
        const expected = [...published.values()].reduce((s, d) => s + encoderOf(model).chunk(documentText(d)).length, 0);
        return (await h.qdrant.count(collection, { exact: true })).count === expected ? collection : undefined;
      },
      300_000,
      250,
    );
  }

  async function assertExact(collection: string): Promise<void> {
    const model = parseCollectionName(collection)?.modelId ?? FP32;
    const encoder = encoderOf(model);
    const byDoc = new Map<string, Array<{ chunk: number; text: string }>>();
    for (const p of await allPoints(h.qdrant, collection)) {
      assert.equal(p.payload.model, model, 'one model per collection');
      const id = String(p.payload.doc_id);
      byDoc.set(id, [...(byDoc.get(id) ?? []), { chunk: Number(p.payload.chunk), text: String(p.payload.text) }]);
    }
    assert.equal(byDoc.size, published.size, 'no document lost, none extra');
    for (const d of published.values()) {
      const chunks = encoder.chunk(documentText(d));
      const got = (byDoc.get(d.id) ?? []).sort((a, b) => a.chunk - b.chunk);
      assert.deepEqual(
        got.map((g) => g.chunk),
        chunks.map((_, i) => i),
        `chunks of ${d.id}, each once`,
      );
      assert.equal(got[0]?.text, chunks[0]?.text, `${d.id} holds its latest version`);
    }
  }

  type Snapshot = {
    state: string;
    attemptsStarted: number;
    progress: ReindexProgress | null;
    data: ReindexJobData;
    logs: string[];
    failedReason: string;
  };
  async function snapshot(jobId: string): Promise<Snapshot> {
    // State first: a job that finishes between the two reads then still shows its final hash.
    const state = await queue.queue.getJobState(jobId);
    const job = await queue.queue.getJob(jobId);
    assert.ok(job, `job ${jobId} exists`);
    const { logs } = await queue.queue.getJobLogs(jobId);
    const progress = typeof job.progress === 'object' && job.progress !== null ? (job.progress as ReindexProgress) : null;
    return {
      state,
      attemptsStarted: job.attemptsStarted,
      progress,
      data: job.data as ReindexJobData,
      logs,
      failedReason: job.failedReason ?? '',
    };
  }

  /**
   * Starts a worker process and kills it with SIGKILL once the job's attempt in it is in `phase`
   * (judged from what that attempt reported: its progress and its own job log lines), then waits
   * for the job to be given back by BullMQ's stalled check.
   */
  async function killAt(jobId: string, phase: 'replaying' | 'swapping' | 'draining', previous: Snapshot | null): Promise<Snapshot> {
    const child = startWorker();
    const seenLogs = previous?.logs.length ?? 0;
    const seenAttempts = previous?.attemptsStarted ?? 0;
    const at = await waitFor(
      `attempt ${seenAttempts + 1} of job ${jobId} to be ${phase}`,
      async () => {
        const s = await snapshot(jobId);
        if (s.state !== 'active' || s.attemptsStarted <= seenAttempts) return undefined;
        const mine = s.logs.slice(seenLogs);
        const resumed = mine.some((l) => l.startsWith('resuming'));
        if (phase === 'replaying') {
          if (s.data.state?.phase !== 'replaying') return undefined;
          // A resumed attempt's progress is its predecessor's until it reports: go by its log.
          if (seenAttempts > 0) return resumed ? s : undefined;
          return s.progress?.phase === 'replaying' && s.progress.processed > 0 ? s : undefined;
        }
        if (phase === 'swapping') {
          // A first attempt passes through swapping in a moment: kill it once it holds the fence. A
          // resumed one waits there for the dead attempt's lease (unless that lapsed already).
          if (!resumed) {
            const target = s.data.state?.target;
            const fence = target ? await fences.get(target) : null;
            return fence?.state === 'closed' && s.progress?.phase !== 'replaying' ? s : undefined;
          }
          return mine.some((l) => l.startsWith('waiting for the write fence lease') || l.includes('now points at')) ? s : undefined;
        }
        if (!resumed) return s.progress?.phase === 'draining' ? s : undefined;
        return mine.some((l) => l.includes('now points at')) && s.progress?.phase === 'draining' ? s : undefined;
      },
      300_000,
      10,
    );
    await kill(child);
    const after = await snapshot(jobId);
    const fence = after.data.state ? await fences.get(after.data.state.target) : null;
    process.stderr.write(
      `killed attempt ${after.attemptsStarted} of ${jobId} at ${phase}: progress ${at.progress?.phase ?? '-'} ${at.progress?.processed ?? 0}/${at.progress?.total ?? 0}, ` +
        `alias -> ${(await aliasTarget()) ?? '-'}, fence ${fence ? fence.state : 'none'}\n`,
    );
    return after;
  }

  /** Kills the worker at `phase` until BullMQ has stalled the job more than maxStalledCount times. */
  async function killUntilGivenUp(
    phase: 'replaying' | 'swapping' | 'draining',
  ): Promise<{ jobId: string; state: RebuildState; previous: string | undefined }> {
    await killAll();
    const previous = await aliasTarget();
    const { jobId, created } = await queue.request({ modelId: INT8 });
    assert.ok(created, 'a new rebuild job');
    let s: Snapshot | null = null;
    for (let kills = 0; kills <= MAX_STALLED; kills++) {
      s = await killAt(jobId, phase, s);
    }
    assert.ok(s?.data.state, 'the job saved its state');
    return { jobId, state: s.data.state, previous };
  }

  /** A worker started now finds the job stalled too often: BullMQ fails it there, and the worker cleans up. */
  async function letBullmqFail(jobId: string): Promise<ChildProcess> {
    const child = startWorker();
    const failed = await waitFor(
      `BullMQ to fail job ${jobId}`,
      async () => {
        const s = await snapshot(jobId);
        return s.state === 'failed' ? s : undefined;
      },
      300_000,
      100,
    );
    assert.match(failed.failedReason, /stalled more than allowable limit/);
    return child;
  }

  async function assertNoOrphans(state: RebuildState, previous: string | undefined): Promise<void> {
    const served = await aliasTarget();
    await waitFor(
      'no rebuild group left',
      async () => {
        const { groups } = await h.admin.listGroups();
        return groups.some((g) => g.groupId.startsWith(h.topology.groups.reindex(''))) ? undefined : true;
      },
      120_000,
      100,
    );
    await waitFor(
      'only the served collection (and a previous one inside its grace period) left',
      async () => {
        const { collections } = await h.qdrant.getCollections();
        const mine = collections.map((c) => c.name).filter((n) => parseCollectionName(n)?.alias === h.topology.qdrant.alias);
        return mine.every((n) => n === served || (n === previous && served === state.target)) ? true : undefined;
      },
      120_000,
      100,
    );
    const fence = await fences.get(state.target);
    if (served === state.target) assert.equal(fence?.state, 'open', 'the served target is open to live writes');
    else assert.equal(fence, null, 'the discarded target left no fence');
  }

  async function liveWritesFlow(tag: string): Promise<string> {
    const [sample] = await readScifact(1);
    assert.ok(sample);
    const started = Date.now();
    await publish([{ id: `${tag}-new`, title: `fresh ${tag}`, text: `${sample.text} (${tag})` }]);
    const collection = await indexComplete(`a document published after the failure (${tag}) to be indexed`);
    process.stderr.write(`${tag}: a document published now was indexed into ${collection} after ${Date.now() - started} ms\n`);
    const points = await h.qdrant.scroll(collection, {
      filter: { must: [{ key: 'doc_id', match: { value: `${tag}-new` } }] },
      limit: 10,
      with_payload: true,
    });
    assert.ok(points.points.length > 0, `${tag}-new is searchable in ${collection}`);
    return collection;
  }

  it('replaying: the partial collection and its group are removed; the live index is untouched', async () => {
    const original = await aliasTarget();
    const { jobId, state, previous } = await killUntilGivenUp('replaying');
    assert.equal(await aliasTarget(), original, 'no swap happened');
    await liveWritesFlow('replaying-before-worker');
    const child = await letBullmqFail(jobId);
    await assertNoOrphans(state, previous);
    await kill(child);
    assert.equal(await aliasTarget(), original);
    await assertExact(await liveWritesFlow('replaying'));
  });

  it('swapping: live writes resume without any worker once the lease lapses, and the job is abandoned cleanly', async () => {
    const { jobId, state, previous } = await killUntilGivenUp('swapping');
    // No reindex worker runs now: live encoders alone must get past the fence.
    await liveWritesFlow('swapping-no-worker');
    const child = await letBullmqFail(jobId);
    await assertNoOrphans(state, previous);
    await kill(child);
    await assertExact(await liveWritesFlow('swapping'));
  });

  it('draining: updates published throughout the hand-over survive the take-over at the group offsets', async () => {
    // Revisions keep coming while workers die: live encoders consume some into the previous
    // collection before their alias cache expires, ahead of the dead rebuild group, so the
    // take-over must read them again (the rewind).
    const docs = [...published.values()].slice(0, 20);
    let revising = true;
    let revisions = 0;
    const reviser = (async () => {
      for (let i = 0; revising && i < 400; i++) {
        const d = docs[i % docs.length];
        if (!d) break;
        await publish([{ ...d, text: `${d.text.split(' (revision')[0] ?? ''} (revision ${i})` }]);
        revisions++;
        // Paced by the rebuild: it swaps only once it has caught up, so wait until it has (or
        // no rebuild is replaying) before the next revision.
        await waitFor(
          'the rebuild to catch up',
          async () => {
            const job = (await queue.list(5)).find((j) => j.name === 'rebuild' && j.state === 'active');
            return !revising || !job?.progress || job.progress.phase !== 'replaying' || job.progress.lag === 0 ? true : undefined;
          },
          300_000,
          20,
        );
      }
    })();
    let given: Awaited<ReturnType<typeof killUntilGivenUp>>;
    try {
      given = await killUntilGivenUp('draining');
    } finally {
      revising = false;
      await reviser;
    }
    process.stderr.write(`published ${revisions} revisions during the draining kills\n`);
    const rewindsBefore = await live.metrics.value('searchbus_rewinds_total', { role: 'encoder', topic: h.topology.topics.ingest });
    const { jobId, state, previous } = given;
    assert.equal(await aliasTarget(), state.target, 'the alias was swapped before the kills');
    await liveWritesFlow('draining-no-worker');
    const rewinds =
      (await live.metrics.value('searchbus_rewinds_total', { role: 'encoder', topic: h.topology.topics.ingest })) - rewindsBefore;
    process.stderr.write(`the live encoder read ${rewinds} partition(s) again from where the dead rebuild stopped\n`);
    const fence = await fences.get(state.target);
    assert.equal(fence?.state, 'open', 'live encoders reopened the fence');
    const child = await letBullmqFail(jobId);
    await assertNoOrphans(state, previous);
    await kill(child);
    await assertExact(await liveWritesFlow('draining'));
  });

  it('start-up reconciliation removes what a job that is gone left behind', async () => {
    await killAll();
    const original = await aliasTarget();
    const { jobId, created } = await queue.request({ modelId: INT8 });
    assert.ok(created);
    const s = await killAt(jobId, 'replaying', null);
    const state = s.data.state;
    assert.ok(state);
    // The job disappears (removed by an operator, or trimmed by removeOnFail) once its lock lapsed:
    // no failed event will ever run for it.
    await waitFor(
      "the dead attempt's lock to lapse",
      async () => ((await redis.exists(`bull:${h.topology.queues.reindex}:${jobId}:lock`)) === 0 ? true : undefined),
      60_000,
      50,
    );
    await queue.queue.remove(jobId);
    await queue.queue.removeDeduplicationKey(h.topology.qdrant.alias);
    assert.ok((await h.qdrant.collectionExists(state.target)).exists, 'the partial collection is still there');
    const logsBefore = workerLogs.length;
    const child = startWorker();
    await assertNoOrphans(state, original);
    await waitFor(
      'the reconciliation log',
      () => Promise.resolve(workerLogs.slice(logsBefore).some((l) => l.includes('reindex reconciliation done')) ? true : undefined),
      60_000,
      50,
    );
    const lines = workerLogs.slice(logsBefore).filter((l) => l.includes('reconciled: '));
    process.stderr.write(`reconciliation:\n  ${lines.join('\n  ')}\n`);
    assert.ok(
      lines.some((l) => l.includes(`discarded ${state.target}`)),
      'the partial collection was discarded, and said so',
    );
    await kill(child);
    assert.equal(await aliasTarget(), original);
    await assertExact(await liveWritesFlow('gone'));
  });
});

// The rewind on its own, deterministically: what a rebuild killed right after the swap leaves when
// the live encoder had already consumed further into the previous collection. Built by hand: a
// new collection that the dead rebuild filled up to nothing, its group's offsets at the log start,
// its fence closed with a lapsed lease, and the alias already on it.
describe('live encoder take-over with a rewind', () => {
  let h: Harness;
  let fp32: OnnxEncoder;
  let live: EncoderConsumer;
  let redis: Redis;
  let fences: RedisWriteFences;
  let producer: IngestProducer;

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '300', SEARCHBUS_MAX_RETRY_DELAY_MS: '300', SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '8' },
    });
    fp32 = await loadEncoder(getModelSpec('all-minilm-l6-v2'));
    redis = createRedis(h.services.redis, `test-${h.namespace}-rewind`);
    fences = new RedisWriteFences(redis, h.topology);
    live = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(fp32)),
      fences,
    });
    await live.start();
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
  });

  after(async () => {
    await producer?.close();
    redis?.disconnect();
    await live?.close();
    await fp32?.close();
    await h?.close();
  });

  it('reads the partitions again from where the dead rebuild stopped, so the new collection misses nothing', async () => {
    const alias = h.topology.qdrant.alias;
    const docs = await readScifact(40);
    await producer.upsert(docs);
    const chunks = (ds: CorpusDoc[]): number => ds.reduce((s, d) => s + fp32.chunk(documentText(d)).length, 0);
    await waitFor(
      'the live index',
      async () => ((await h.qdrant.count(alias, { exact: true })).count === chunks(docs) ? true : undefined),
      300_000,
      100,
    );

    const target = h.topology.qdrant.collection('all-minilm-l6-v2', 2);
    const groupId = h.topology.groups.reindex(target);
    await ensureCollection(h.qdrant, target, getModelSpec('all-minilm-l6-v2'));
    const ends = await h.admin.fetchTopicOffsets(h.topology.topics.ingest);
    await h.admin.setOffsets({
      groupId,
      topic: h.topology.topics.ingest,
      partitions: ends.map((p) => ({ partition: p.partition, offset: p.low })),
    });
    await fences.acquire(target, { owner: 'dead-attempt', jobId: 'gone', groupId }, 100, true);
    const { aliases } = await h.qdrant.getAliases();
    const previous = aliases.find((a) => a.alias_name === alias)?.collection_name;
    await h.qdrant.updateCollectionAliases({
      actions: [{ delete_alias: { alias_name: alias } }, { create_alias: { alias_name: alias, collection_name: target } }],
    });

    const rewindsBefore = await live.metrics.value('searchbus_rewinds_total', { role: 'encoder', topic: h.topology.topics.ingest });
    // A partition is read again when its next message arrives: publish until every partition got one.
    const more = (await readScifact(80)).slice(40);
    const later: CorpusDoc[] = [];
    for (const d of more) {
      await producer.upsert([d]);
      later.push(d);
      const now = await h.admin.fetchTopicOffsets(h.topology.topics.ingest);
      if (now.every((p) => BigInt(p.high) > BigInt(ends.find((e) => e.partition === p.partition)?.high ?? p.high))) break;
    }
    await waitFor(
      'the new collection to hold every document',
      async () => ((await h.qdrant.count(target, { exact: true })).count === chunks([...docs, ...later]) ? true : undefined),
      300_000,
      100,
    );
    const rewinds =
      (await live.metrics.value('searchbus_rewinds_total', { role: 'encoder', topic: h.topology.topics.ingest })) - rewindsBefore;
    process.stderr.write(
      `after a take-over at the log start, the live encoder read ${rewinds} partition(s) again; ${later.length} documents published after it\n`,
    );
    assert.ok(rewinds >= 1, 'the live encoder sought back');
    const ids = new Set((await allPoints(h.qdrant, target)).map((p) => String(p.payload.doc_id)));
    assert.equal(ids.size, docs.length + later.length, 'every document, the ones before the take-over included');
    assert.notEqual(previous, target);
  });
});
