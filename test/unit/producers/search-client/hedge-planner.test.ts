import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HedgePlanner } from '../../../../producers/search-client/hedge-planner.ts';

describe('HedgePlanner', () => {
  it('forgets a stall when the partition answers, or after 5 s', () => {
    let now = 1_000;
    const planner = new HedgePlanner(() => now);
    planner.stalled(3);
    assert.equal(planner.isStalled(3), true);
    planner.answered(3);
    assert.equal(planner.isStalled(3), false, 'an answer proves a reader');
    assert.equal(planner.lastAnswered(3), 1_000);
    assert.equal(planner.lastAnswered(4), 0, 'never seen answering');
    planner.stalled(4);
    now += 4_999;
    assert.equal(planner.isStalled(4), true);
    now += 1;
    assert.equal(planner.isStalled(4), false);
  });

  it('allows hedges up to half the searches of the last 10 s plus 10, and again once the window moves on', () => {
    let now = 0;
    const planner = new HedgePlanner(() => now);
    for (let i = 0; i < 40; i++) planner.sent();
    let allowed = 0;
    while (planner.spend()) allowed += 1;
    assert.equal(allowed, 30, '10 + 40 / 2');
    now = 5_000;
    assert.equal(planner.spend(), false, 'still inside the window');
    now = 10_000;
    assert.equal(planner.spend(), true, 'the first second has left the window');
  });
});
