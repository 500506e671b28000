import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { overlapAtK, rankBiasedOverlap } from '../../../../consumers/quality/index.ts';

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

describe('overlapAtK', () => {
  it('is the shared share of the first k, whatever the order', () => {
    close(overlapAtK(['a', 'b', 'c', 'd'], ['d', 'c', 'x', 'y'], 4), 0.5);
    close(overlapAtK(['a', 'b', 'c'], ['c', 'b', 'a'], 10), 1);
    close(overlapAtK(['a', 'b', 'c'], ['a'], 10), 1 / 3);
    close(overlapAtK([], [], 10), 1);
    close(overlapAtK(['a'], [], 10), 0);
  });
});

describe('rankBiasedOverlap', () => {
  it('is 1 for identical rankings and 0 for disjoint ones', () => {
    const ranking = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    close(rankBiasedOverlap(ranking, [...ranking], 10), 1);
    close(
      rankBiasedOverlap(
        ranking,
        ranking.map((id) => `${id}2`),
        10,
      ),
      0,
    );
  });

  it('matches RBO_EXT worked by hand: a b c against b a c at p = 0.9 is 0.9', () => {
    // X1 = 0, X2 = 2, X3 = 3: 1 * 0.9^3 + (0.1 / 0.9) * (0 + 1 * 0.81 + 1 * 0.729) = 0.9.
    close(rankBiasedOverlap(['a', 'b', 'c'], ['b', 'a', 'c'], 10), 0.9);
  });

  it('weighs a disagreement at the top more than one at the bottom', () => {
    const top = rankBiasedOverlap(['a', 'b', 'c', 'd'], ['x', 'b', 'c', 'd'], 4);
    const bottom = rankBiasedOverlap(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'x'], 4);
    assert.ok(top < bottom, `${top} >= ${bottom}`);
  });

  it('refuses a persistence outside (0, 1)', () => {
    assert.throws(() => rankBiasedOverlap(['a'], ['a'], 10, 1), RangeError);
  });
});
