import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chanceScore,
  firstHit,
  hitWithin,
  NOT_FOUND,
  placementOfRank,
  reciprocalRank,
  score,
} from '../../bench/media/retrieval-metrics.ts';

describe('media benchmark retrieval metrics', () => {
  it('scores a plain ranked list: recall@1 counts first places, MRR the mean of 1/rank, misses count 0', () => {
    const placements = [placementOfRank(1), placementOfRank(2), placementOfRank(4), placementOfRank(null)];
    const s = score(placements, 100);
    assert.equal(s.queries, 4);
    assert.equal(s.recallAt1, 0.25);
    assert.equal(s.recallAt10, 0.75);
    assert.ok(Math.abs(s.mrr - (1 + 0.5 + 0.25 + 0) / 4) < 1e-12);
  });

  it('scores a tie as the expectation over a random order of the tied items', () => {
    // Level with two others at the top: first with chance 1/3, expected 1/rank = (1 + 1/2 + 1/3) / 3.
    const tie = { closer: 0, tied: 2 };
    assert.ok(Math.abs(firstHit(tie) - 1 / 3) < 1e-12);
    assert.ok(Math.abs(reciprocalRank(tie, 100) - (1 + 1 / 2 + 1 / 3) / 3) < 1e-12);
    // Behind one, level with one: never first; rank 2 or 3.
    const behind = { closer: 1, tied: 1 };
    assert.equal(firstHit(behind), 0);
    assert.ok(Math.abs(reciprocalRank(behind, 100) - (1 / 2 + 1 / 3) / 2) < 1e-12);
  });

  it('counts positions beyond the cut-off as 0, as a top-k search that did not return the target', () => {
    assert.equal(reciprocalRank({ closer: 100, tied: 0 }, 100), 0);
    assert.equal(reciprocalRank({ closer: 99, tied: 0 }, 100), 1 / 100);
    // A tie straddling the cut-off: only the tied positions within it count.
    assert.ok(Math.abs(reciprocalRank({ closer: 99, tied: 1 }, 100) - 1 / 100 / 2) < 1e-12);
    assert.equal(reciprocalRank(NOT_FOUND, 100), 0);
    assert.equal(firstHit(NOT_FOUND), 0);
  });

  it('refuses a rank that is not a whole number from 1, and scores no queries as NaN', () => {
    assert.throws(() => placementOfRank(0), RangeError);
    assert.throws(() => placementOfRank(1.5), RangeError);
    assert.ok(Number.isNaN(score([], 10).mrr));
  });

  it('counts recall@k over the tied positions within the top k', () => {
    assert.equal(hitWithin({ closer: 9, tied: 0 }, 10), 1);
    assert.equal(hitWithin({ closer: 10, tied: 0 }, 10), 0);
    // Rank 9, 10, 11 or 12 equally likely: half of them within the top 10.
    assert.equal(hitWithin({ closer: 8, tied: 3 }, 10), 0.5);
    assert.equal(hitWithin(NOT_FOUND, 10), 0);
  });

  it('gives chance figures of a random order: 1/n first, k/n within the top k, and more with more targets', () => {
    const harmonic = (k: number): number => Array.from({ length: k }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
    const one = chanceScore(200, [1, 1], 100);
    assert.ok(Math.abs(one.recallAt1 - 1 / 200) < 1e-12);
    assert.ok(Math.abs(one.recallAt10 - 10 / 200) < 1e-12);
    assert.ok(Math.abs(one.mrr - harmonic(100) / 200) < 1e-12);
    // Two targets among four: first with chance 1/2; else second with chance 2/3 x 1/2 ... : E[1/rank] = 1/2 + 1/3 x 1/2 + 1/6 x 1/3.
    const two = chanceScore(4, [2], 100);
    assert.ok(Math.abs(two.recallAt1 - 0.5) < 1e-12);
    assert.ok(Math.abs(two.mrr - (1 / 2 + 1 / 3 / 2 + 1 / 6 / 3)) < 1e-12);
    assert.ok(Math.abs(two.recallAt10 - 1) < 1e-12);
    assert.throws(() => chanceScore(4, [5], 100), RangeError);
  });
});
