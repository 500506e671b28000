import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOrphanGroup, isPartialCollection, planFence, type FenceFacts } from '../../../../consumers/reindex/reconcile-plan.ts';

const closed = { state: 'closed' as const, lease: { owner: 'tok', jobId: '3', groupId: 'ns.reindex.c', expiresAt: 1_000 } };
const base: FenceFacts = { fence: closed, nowMs: 500, exists: true, served: true, ownerLive: true };

describe('planFence', () => {
  it('keeps a fence whose rebuild runs and renews its lease', () => {
    assert.equal(planFence(base), 'keep');
  });

  it('reopens a served fence whose lease lapsed, even if its job will be retried', () => {
    assert.equal(planFence({ ...base, nowMs: 1_000 }), 'reopen');
  });

  it('reopens a served fence whose job is failed or gone, without waiting for the lease', () => {
    assert.equal(planFence({ ...base, ownerLive: false }), 'reopen');
  });

  it('reopens a closed fence written before leases existed', () => {
    assert.equal(planFence({ ...base, fence: { state: 'closed' }, ownerLive: false }), 'reopen');
  });

  it('leaves an unserved target to its queued or retried job, lapsed or not', () => {
    assert.equal(planFence({ ...base, served: false }), 'keep');
    assert.equal(planFence({ ...base, served: false, nowMs: 5_000 }), 'keep');
  });

  it('discards an unserved target whose job is over', () => {
    assert.equal(planFence({ ...base, served: false, ownerLive: false }), 'discard');
    assert.equal(planFence({ ...base, served: false, ownerLive: false, nowMs: 5_000 }), 'discard');
  });

  it('keeps open fences and removes those of dropped collections', () => {
    assert.equal(planFence({ ...base, fence: { state: 'open', offsets: {} }, ownerLive: false }), 'keep');
    assert.equal(planFence({ ...base, exists: false, ownerLive: false }), 'remove');
    assert.equal(planFence({ ...base, fence: { state: 'open', offsets: {} }, exists: false, ownerLive: false, served: false }), 'remove');
  });
});

describe('isPartialCollection', () => {
  const facts = {
    name: 'ns-documents__m__v2',
    alias: 'ns-documents',
    ownAlias: 'ns-documents',
    served: false,
    owned: false,
    dropPending: false,
  };

  it('is a collection of this alias that nothing serves, owns or is about to drop', () => {
    assert.equal(isPartialCollection(facts), true);
  });

  it('never is the served collection, a live job target, or one in its grace period', () => {
    assert.equal(isPartialCollection({ ...facts, served: true }), false);
    assert.equal(isPartialCollection({ ...facts, owned: true }), false);
    assert.equal(isPartialCollection({ ...facts, dropPending: true }), false);
  });

  it("never is another namespace's collection or one searchbus did not name", () => {
    assert.equal(isPartialCollection({ ...facts, alias: 'other-documents' }), false);
    assert.equal(isPartialCollection({ ...facts, alias: null }), false);
  });
});

describe('isOrphanGroup', () => {
  it('is a rebuild group no live job owns', () => {
    const owned = new Set(['ns.reindex.ns-documents__m__v3']);
    assert.equal(isOrphanGroup('ns.reindex.ns-documents__m__v2', 'ns.reindex.', owned), true);
    assert.equal(isOrphanGroup('ns.reindex.ns-documents__m__v3', 'ns.reindex.', owned), false);
    assert.equal(isOrphanGroup('ns.encoder', 'ns.reindex.', owned), false);
    assert.equal(isOrphanGroup('other.reindex.x', 'ns.reindex.', owned), false);
  });
});
