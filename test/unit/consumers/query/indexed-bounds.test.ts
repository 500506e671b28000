import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexedBounds, type GroupOffsets } from '../../../../consumers/query/indexed-bounds.ts';
import type { WriteFence } from '../../../../consumers/runtime/index.ts';
import { isCovered, positionOf } from '../../../../topology/index.ts';

function group(groupId: string, committed: Record<number, number>, active = true): GroupOffsets {
  return { groupId, committed: new Map(Object.entries(committed).map(([p, o]) => [Number(p), BigInt(o)])), active };
}

const text = (c: Record<number, number>, active = true): GroupOffsets => group('t.encoder', c, active);
const media = (c: Record<number, number>, active = true): GroupOffsets => group('t.encoder.media', c, active);
const none = (): undefined => undefined;
const plain = (bounds: ReadonlyMap<number, bigint>): Record<number, number> =>
  Object.fromEntries([...bounds].map(([p, o]) => [p, Number(o)]));

describe('indexed bounds', () => {
  it('no fence: the smaller of the live groups, per partition', () => {
    assert.deepEqual(plain(indexedBounds(null, [text({ 0: 10, 1: 4 }), media({ 0: 7, 1: 9 })], none)), { 0: 7, 1: 4 });
  });

  it('a partition one running group never committed bounds at 0', () => {
    assert.deepEqual(plain(indexedBounds(null, [text({ 0: 10, 1: 4 }), media({ 0: 7 })], none)), { 0: 7, 1: 0 });
  });

  it('leaves out a group that neither committed nor has members (not deployed)', () => {
    assert.deepEqual(plain(indexedBounds(null, [text({ 0: 10 }), media({}, false)], none)), { 0: 10 });
  });

  it('a group with members that has not committed yet holds everything back', () => {
    assert.deepEqual(plain(indexedBounds(null, [text({ 0: 10 }), media({}, true)], none)), { 0: 0 });
  });

  it('no running group: nothing is covered', () => {
    const bounds = indexedBounds(null, [text({}, false), media({}, false)], none);
    assert.equal(isCovered(positionOf('t.documents', [{ partition: 0, offset: 0n }]), bounds), false);
  });

  it('an open fence after a complete hand-over: the live groups', () => {
    const fence: WriteFence = { state: 'open', offsets: { '0': '5' } };
    assert.deepEqual(plain(indexedBounds(fence, [text({ 0: 12 }), media({ 0: 12 })], none)), { 0: 12 });
  });

  it('a closed fence (a rebuild fills the collection): the rebuild group, not the live groups further on', () => {
    const fence: WriteFence = { state: 'closed', lease: { owner: 'o', jobId: 'j', groupId: 't.reindex.c', expiresAt: 0 } };
    const rebuild = (id: string): GroupOffsets | undefined => (id === 't.reindex.c' ? group(id, { 0: 3 }) : undefined);
    assert.deepEqual(plain(indexedBounds(fence, [text({ 0: 50 })], rebuild)), { 0: 3 });
  });

  it('a closed fence whose group has no offsets: nothing', () => {
    assert.equal(indexedBounds({ state: 'closed' }, [text({ 0: 50 })], none).size, 0);
  });

  it('a pending rewind caps a partition at the rewind offset until it is over', () => {
    const fence: WriteFence = { state: 'open', offsets: { '0': '6', '1': '2' }, rewind: { '0': '6' }, caught: { 't.encoder/0': '9' } };
    assert.deepEqual(plain(indexedBounds(fence, [text({ 0: 20, 1: 8 }), media({ 0: 20, 1: 8 })], none)), { 0: 6, 1: 8 });
    // Below the rewind offset the live groups still decide.
    assert.deepEqual(plain(indexedBounds(fence, [text({ 0: 4, 1: 8 })], none)), { 0: 4, 1: 8 });
  });

  it('split groups: the text group done rewinding leaves the partition capped while the media group owes its rewind', () => {
    const fence: WriteFence = { state: 'open', offsets: { '0': '6' }, rewind: { '0': '6' }, rewound: ['t.encoder/0'] };
    // The media group committed up to 20 into the previous collection: its records 6..19 are not here yet.
    assert.deepEqual(plain(indexedBounds(fence, [text({ 0: 25 }), media({ 0: 20 })], none)), { 0: 6 });
    const both: WriteFence = { ...fence, rewound: ['t.encoder/0', 't.encoder.media/0'] };
    assert.deepEqual(plain(indexedBounds(both, [text({ 0: 25 }), media({ 0: 20 })], none)), { 0: 20 });
  });
});
