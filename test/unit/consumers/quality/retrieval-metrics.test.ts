import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dcg, mean, ndcgAtK, percentile, recallAtK, reciprocalRankAtK } from '../../../../consumers/quality/index.ts';

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);
const judged = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

describe('nDCG@k (hand-computed)', () => {
  it('is 1 for the ideal ranking and 0 without a relevant hit', () => {
    close(ndcgAtK(['a', 'b'], judged({ a: 1, b: 1 }), 10), 1);
    close(ndcgAtK(['x', 'y'], judged({ a: 1 }), 10), 0);
  });

  it('discounts a single relevant document at rank 3 by log2(4)', () => {
    // DCG = 1/log2(4) = 0.5; IDCG = 1.
    close(ndcgAtK(['x', 'y', 'a'], judged({ a: 1 }), 10), 0.5);
  });

  it('uses graded gains and an ideal ordering of all judged documents', () => {
    // ranking gains [1, 0, 2]: DCG = 1 + 2/2 = 2; ideal [2, 1]: IDCG = 2 + 1/log2(3).
    close(ndcgAtK(['b', 'x', 'a'], judged({ a: 2, b: 1, c: 0 }), 10), 2 / (2 + 1 / Math.log2(3)));
  });

  it('cuts both DCG and IDCG at k', () => {
    // k=2: ranking gains [0, 1] -> DCG = 1/log2(3); ideal [1, 1] -> IDCG = 1 + 1/log2(3).
    close(ndcgAtK(['x', 'a', 'b'], judged({ a: 1, b: 1, c: 1 }), 2), 1 / Math.log2(3) / (1 + 1 / Math.log2(3)));
    close(ndcgAtK(['x', 'y', 'a'], judged({ a: 1 }), 2), 0);
  });

  it('counts a repeated document once', () => {
    close(ndcgAtK(['a', 'a', 'b'], judged({ a: 1, b: 1 }), 10), 1);
  });

  it('dcg sums gain / log2(rank + 1)', () => {
    close(dcg([3, 2, 3, 0, 1, 2], 6), 3 + 2 / Math.log2(3) + 3 / 2 + 0 + 1 / Math.log2(6) + 2 / Math.log2(7));
  });
});

describe('recall@k', () => {
  it('is the share of relevant documents in the first k', () => {
    close(recallAtK(['a', 'x', 'b'], judged({ a: 1, b: 1, c: 1, d: 0 }), 100), 2 / 3);
    close(recallAtK(['a', 'x', 'b'], judged({ a: 1, b: 1, c: 1 }), 2), 1 / 3);
  });
  it('ignores documents judged 0 and is 0 when nothing is relevant', () => {
    close(recallAtK(['d'], judged({ d: 0, a: 1 }), 10), 0);
    close(recallAtK(['d'], judged({ d: 0 }), 10), 0);
  });
});

describe('MRR@k', () => {
  it('is 1 / rank of the first relevant document within k', () => {
    close(reciprocalRankAtK(['x', 'y', 'a', 'b'], judged({ a: 1, b: 1 }), 10), 1 / 3);
    close(reciprocalRankAtK(['a'], judged({ a: 1 }), 10), 1);
    close(reciprocalRankAtK(['x', 'y', 'a'], judged({ a: 1 }), 2), 0);
    close(reciprocalRankAtK(['z', 'a'], judged({ z: 0, a: 2 }), 10), 1 / 2);
  });
  it('averages over queries', () => {
    close(mean([1, 1 / 3, 0, 1 / 2]), (1 + 1 / 3 + 0 + 1 / 2) / 4);
    close(mean([]), 0);
  });
});

describe('percentile (nearest rank)', () => {
  const values = [15, 20, 35, 40, 50];
  it('matches the textbook example', () => {
    assert.equal(percentile(values, 5), 15);
    assert.equal(percentile(values, 30), 20);
    assert.equal(percentile(values, 40), 20);
    assert.equal(percentile(values, 50), 35);
    assert.equal(percentile(values, 100), 50);
  });
  it('p99 of 1..100 is 99, p95 is 95, p50 is 50', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.deepEqual(
      [50, 95, 99].map((p) => percentile(hundred, p)),
      [50, 95, 99],
    );
  });
  it('is NaN for no values and refuses p outside (0, 100]', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 0), RangeError);
  });
});
