import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { IndexedPositions } from '../../../../consumers/query/indexed-positions.ts';
import type { WriteFence } from '../../../../consumers/runtime/index.ts';
import { createTopology, positionOf } from '../../../../topology/index.ts';

// The view's reading discipline, with Kafka's and Redis' answers given by the test: what a read
// returns is indexed-bounds.ts' business (tested there); here, when reads happen and how many.
const topology = createTopology('ip-unit');
const COLLECTION = `${topology.qdrant.alias}__m__v1`;

function fakeAdmin(committed: () => number, onRead: () => Promise<void>): Admin {
  return {
    fetchOffsets: async () => {
      await onRead();
      return [{ topic: topology.topics.ingest, partitions: [{ partition: 0, offset: String(committed()), metadata: null }] }];
    },
    describeGroups: () => Promise.resolve({ groups: [{ groupId: topology.groups.encoder, members: [{}] }] }),
  } as unknown as Admin;
}

function positions(committed: { value: number }, gate?: Promise<void>): { view: IndexedPositions; fetches: () => number } {
  let fetches = 0;
  const admin = fakeAdmin(
    () => committed.value,
    async () => {
      fetches += 1;
      await gate;
    },
  );
  const view = new IndexedPositions({
    admin: () => Promise.resolve(admin),
    fences: { get: (): Promise<WriteFence | null> => Promise.resolve(null) },
    topology,
    pollMs: 5,
  });
  return { view, fetches: () => fetches };
}

const at = (offset: bigint) => positionOf(topology.topics.ingest, [{ partition: 0, offset }]);

describe('indexed positions', () => {
  it('concurrent waiters share one read', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { view } = positions({ value: 100 }, gate);
    const signal = new AbortController().signal;
    const waits = Array.from({ length: 10 }, (_, i) => view.waitFor(at(BigInt(i)), COLLECTION, Date.now() + 5_000, signal));
    await new Promise((resolve) => setImmediate(resolve));
    open();
    for (const coverage of await Promise.all(waits)) assert.deepEqual(coverage, { covered: true });
    assert.equal(view.reads, 1);
  });

  it('answers a covered position from the last read, with no I/O', async () => {
    const { view, fetches } = positions({ value: 50 });
    const signal = new AbortController().signal;
    await view.waitFor(at(10n), COLLECTION, Date.now() + 1_000, signal);
    const before = fetches();
    assert.deepEqual(view.known(at(49n), COLLECTION), { covered: true });
    assert.deepEqual(await view.waitFor(at(49n), COLLECTION, Date.now() + 1_000, signal), { covered: true });
    assert.equal(fetches(), before);
    assert.equal(view.known(at(49n), `${COLLECTION}x`), null, 'a view says nothing about another collection');
  });

  it('reads again until covered, then stops', async () => {
    const committed = { value: 5 };
    const { view } = positions(committed);
    const signal = new AbortController().signal;
    setTimeout(() => (committed.value = 21), 30);
    assert.deepEqual(await view.waitFor(at(20n), COLLECTION, Date.now() + 5_000, signal), { covered: true });
    assert.ok(view.reads >= 2);
  });

  it('gives up at the deadline with the lag', async () => {
    const { view } = positions({ value: 5 });
    const coverage = await view.waitFor(at(20n), COLLECTION, Date.now() + 40, new AbortController().signal);
    assert.deepEqual(coverage, { covered: false, lag: new Map([[0, 16n]]) });
  });

  it('rejects when its signal aborts', async () => {
    const { view } = positions({ value: 5 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('closing')), 20);
    await assert.rejects(view.waitFor(at(20n), COLLECTION, Date.now() + 5_000, abort.signal), /closing|aborted/);
  });
});
