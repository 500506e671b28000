import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededUint32, seededUnit } from '../../../../consumers/quality/index.ts';

describe('seeded generator', () => {
  it('is mulberry32: seed 1 starts at 0.6270739405881613, as the reference implementation does', () => {
    assert.equal(seededUnit(1)(), 0.6270739405881613);
    assert.equal(seededUint32(1)(), 2693262067);
  });

  it('repeats its sequence for a seed, differs between seeds, and stays in range', () => {
    const take = (next: () => number, n: number): number[] => Array.from({ length: n }, () => next());
    assert.deepEqual(take(seededUnit(42), 50), take(seededUnit(42), 50));
    assert.notDeepEqual(take(seededUnit(42), 5), take(seededUnit(43), 5));
    const values = take(seededUnit(7), 10_000);
    assert.ok(values.every((v) => v >= 0 && v < 1));
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    // 10,000 uniform draws: the mean's standard error is 0.0029; 0.02 is about 7 of them.
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    assert.ok(take(seededUint32(3), 1000).every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff));
  });
});
