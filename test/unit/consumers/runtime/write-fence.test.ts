import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaseLapsed, passesFence, rewindAction, type WriteFence } from '../../../../consumers/runtime/index.ts';

const lease = { owner: 'tok-1', jobId: '7', groupId: 'ns.reindex.c', expiresAt: 10_000 };

describe('leaseLapsed', () => {
  it('holds a closed fence until its expiry, in server time', () => {
    const fence: WriteFence = { state: 'closed', lease };
    assert.equal(leaseLapsed(fence, 9_999), false);
    assert.equal(leaseLapsed(fence, 10_000), true);
    assert.equal(leaseLapsed(fence, 50_000), true);
  });

  it('treats a closed fence without a lease (written before leases) as lapsed', () => {
    assert.equal(leaseLapsed({ state: 'closed' }, 0), true);
  });

  it('never calls an open fence or no fence lapsed', () => {
    assert.equal(leaseLapsed({ state: 'open', offsets: {} }, 1e15), false);
    assert.equal(leaseLapsed(null, 1e15), false);
  });
});

describe('passesFence with leases', () => {
  it('stops every message at a closed fence, leased or not', () => {
    assert.equal(passesFence({ state: 'closed', lease }, 0, '999'), false);
    assert.equal(passesFence({ state: 'closed' }, 0, '0'), false);
  });

  it('lets an open fence pass from its offsets on, rewind or not', () => {
    const fence: WriteFence = { state: 'open', offsets: { '0': '5' }, rewind: { '0': '5' } };
    assert.equal(passesFence(fence, 0, '4'), false);
    assert.equal(passesFence(fence, 0, '5'), true);
    assert.equal(passesFence(fence, 1, '0'), true);
  });
});

describe('rewindAction', () => {
  const G = 'ns.encoder';
  const fence: WriteFence = { state: 'open', offsets: { '0': '100', '1': '7' }, rewind: { '0': '100', '1': '7' } };

  it('seeks back a partition read past the point where the rebuild stopped', () => {
    assert.deepEqual(rewindAction(fence, G, 0, '130'), { seek: '100' });
  });

  it('replays a batch from the rewind point or before it, and the first batch after seeking there', () => {
    assert.deepEqual(rewindAction(fence, G, 0, '100'), { replay: '100' });
    assert.deepEqual(rewindAction(fence, G, 1, '3'), { replay: '7' });
    // Compaction removed offsets 100..104: the first batch after the seek starts at 105.
    assert.deepEqual(rewindAction(fence, G, 0, '105', '100'), { replay: '100' });
    assert.deepEqual(rewindAction(fence, G, 0, '105', '99'), { seek: '100' }, 'a seek to another rewind point does not count');
  });

  it('ends the rewind only at the batch right after the last one written from the rewind point', () => {
    const caught: WriteFence = { ...fence, caught: { [`${G}/0`]: '140' } };
    assert.deepEqual(rewindAction(caught, G, 0, '140'), { clear: '100' }, 'that batch was committed');
    // A crash after the write and before its commit: the partition restarts further on.
    assert.deepEqual(rewindAction(caught, G, 0, '170'), { seek: '100' });
  });

  it('does nothing without a rewind for the partition, or on a fence the rebuild released itself', () => {
    assert.equal(rewindAction(fence, G, 2, '1000'), null);
    assert.equal(rewindAction({ state: 'open', offsets: { '0': '100' } }, G, 0, '1000'), null);
    assert.equal(rewindAction({ state: 'closed', lease }, G, 0, '1000'), null);
    assert.equal(rewindAction(null, G, 0, '1000'), null);
  });

  it('rewinds each live group on its own: one group done leaves the other owing its rewind', () => {
    const done: WriteFence = { ...fence, rewound: [`${G}/0`], caught: { 'ns.encoder.media/0': '140' } };
    assert.equal(rewindAction(done, G, 0, '1000'), null, 'the text group is done');
    assert.deepEqual(rewindAction(done, 'ns.encoder.media', 0, '1000'), { seek: '100' }, 'the media group still seeks back');
    assert.deepEqual(rewindAction(done, 'ns.encoder.media', 0, '140'), { clear: '100' });
    assert.deepEqual(rewindAction(done, G, 1, '30'), { seek: '7' }, 'another partition of the done group');
    // An entry from before groups were split names no group: the group replays once more.
    assert.deepEqual(rewindAction({ ...fence, caught: { '0': '140' } }, G, 0, '140'), { seek: '100' });
  });

  it('compares offsets as integers, not strings', () => {
    assert.deepEqual(rewindAction({ state: 'open', offsets: {}, rewind: { '0': '9' } }, G, 0, '10'), { seek: '9' });
  });
});
