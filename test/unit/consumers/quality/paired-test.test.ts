import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareRuns, pairedRandomizationTest, scoreRankings } from '../../../../consumers/quality/index.ts';
import { ContractError } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

const close = (actual: number, expected: number, tolerance = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} != ${expected}`);
/** Scores of a and b whose differences b - a are `differences`. */
const pairs = (differences: number[]): [number[], number[]] => [differences.map(() => 0.5), differences.map((d) => 0.5 + d)];

describe('pairedRandomizationTest', () => {
  it('enumerates every sign assignment: differences 1, 2, 3 give p = 2/8', () => {
    // Only all-plus and all-minus reach |sum| >= 6.
    const result = pairedRandomizationTest(...pairs([1, 2, 3]));
    assert.equal(result.method, 'exact');
    assert.equal(result.permutations, 8);
    close(result.pValue, 0.25);
    assert.deepEqual([result.wins, result.losses, result.ties], [3, 0, 0]);
  });

  it('counts sums as extreme as the observed one on both sides: 3, -1, 2, 4 give p = 4/16', () => {
    // |10 - 2w| >= 8 for flipped weights w in {0, 1, 9, 10}: four of sixteen subsets.
    const result = pairedRandomizationTest(...pairs([3, -1, 2, 4]));
    close(result.pValue, 0.25);
    assert.deepEqual([result.wins, result.losses], [3, 1]);
  });

  it("reproduces Fisher's exact p for Darwin's Zea mays pairs (1726 of 32768)", () => {
    // Fisher, The Design of Experiments (1935), section 21: 863 of 2^15 sign assignments reach the
    // observed sum of cross- minus self-fertilised heights (eighths of an inch) on each side.
    const darwin = [49, -67, 8, 16, 6, 23, 28, 41, 14, 29, 56, 24, 75, 60, -48];
    const result = pairedRandomizationTest(...pairs(darwin));
    assert.equal(result.method, 'exact');
    close(result.pValue, 1726 / 32768);
  });

  it('leaves ties out of the wins and losses and out of the statistic', () => {
    const withTies = pairedRandomizationTest(...pairs([1, 2, 3, 0, 0, 0]));
    close(withTies.pValue, 0.25);
    assert.deepEqual([withTies.wins, withTies.losses, withTies.ties, withTies.queries], [3, 0, 3, 6]);
    const none = pairedRandomizationTest([0.2, 0.4], [0.2, 0.4]);
    assert.equal(none.pValue, 1);
    assert.equal(none.ties, 2);
  });

  it('gives p = 1 when the differences cancel exactly', () => {
    close(pairedRandomizationTest(...pairs([1, -1])).pValue, 1);
  });

  it('agrees with the exact test when it samples (Monte Carlo within 0.01), and is deterministic', () => {
    const differences = [0.3, -0.1, 0.2, 0.05, -0.2, 0.4, 0.1, -0.05, 0.15, 0.25, -0.3, 0.2, 0.1, 0.05, -0.15, 0.35, 0.1, -0.2];
    const exact = pairedRandomizationTest(...pairs(differences), { exactUpTo: 20 });
    assert.equal(exact.method, 'exact');
    const sampled = pairedRandomizationTest(...pairs(differences), { exactUpTo: 10, permutations: 40_000 });
    assert.equal(sampled.method, 'monte-carlo');
    close(sampled.pValue, exact.pValue, 0.01);
    assert.equal(pairedRandomizationTest(...pairs(differences), { exactUpTo: 10, permutations: 40_000 }).pValue, sampled.pValue);
    assert.ok(exact.pValue > 0.01 && exact.pValue < 0.5, `p = ${exact.pValue}`);
  });

  it('finds a consistent gain over 200 queries significant, and a never-zero Monte Carlo p', () => {
    const differences = Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? -0.02 : 0.05));
    const result = pairedRandomizationTest(...pairs(differences));
    assert.equal(result.method, 'monte-carlo');
    close(result.pValue, 1 / 10_001);
    assert.deepEqual([result.wins, result.losses], [160, 40]);
    close(result.meanDifference, (160 * 0.05 - 40 * 0.02) / 200);
  });

  it('refuses unpaired or non-finite scores', () => {
    assert.throws(() => pairedRandomizationTest([1, 2], [1]), errorOf(ContractError, 'paired-input'));
    assert.throws(() => pairedRandomizationTest([Number.NaN], [1]), errorOf(ContractError, 'paired-input'));
  });
});

describe('scoreRankings and compareRuns', () => {
  const queries = [{ id: 'q1' }, { id: 'q2' }, { id: 'q3' }];
  const judgements = new Map([
    ['q1', new Map([['d1', 1]])],
    ['q2', new Map([['d2', 1]])],
    ['q3', new Map([['d3', 1]])],
  ]);
  const judged = (id: string): Map<string, number> => judgements.get(id) ?? new Map<string, number>();

  it('scores each query and compares two systems query by query', () => {
    const a = scoreRankings(
      queries,
      judged,
      new Map([
        ['q1', ['d1']],
        ['q2', ['x', 'd2']],
        ['q3', ['x']],
      ]),
    );
    assert.deepEqual(
      a.perQuery.map((q) => q.mrr_at_10),
      [1, 0.5, 0],
    );
    const b = scoreRankings(
      queries,
      judged,
      new Map([
        ['q1', ['d1']],
        ['q2', ['d2']],
      ]),
    );
    assert.deepEqual(
      b.perQuery.map((q) => q.mrr_at_10),
      [1, 1, 0],
    );
    const comparison = compareRuns(a, b);
    assert.deepEqual([comparison.mrr_at_10.wins, comparison.mrr_at_10.losses, comparison.mrr_at_10.ties], [1, 0, 2]);
    close(comparison.mrr_at_10.meanDifference, 0.5 / 3);
    close(comparison.mrr_at_10.pValue, 1);
  });

  it('refuses runs over different queries', () => {
    const a = scoreRankings(queries, judged, new Map());
    const b = scoreRankings(queries.slice(1), judged, new Map());
    assert.throws(() => compareRuns(a, b), RangeError);
  });
});
