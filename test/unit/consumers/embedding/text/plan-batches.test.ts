import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { padBatch, planBatches } from '../../../../../consumers/embedding/index.ts';

const longestFirst = (sequences: number[][]): number[] =>
  sequences.map((_, i) => i).sort((a, b) => sequences[b]!.length - sequences[a]!.length);

describe('length-bucketed batches', () => {
  it('partition the longest-first order into runs within the row and padded-token budgets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 300 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 4096 }),
        (lengths, batchSize, maxBatchTokens) => {
          const sequences = lengths.map((n) => Array.from({ length: n }, () => 7));
          const order = longestFirst(sequences);
          const batches = [...planBatches(order, sequences, { batchSize, maxBatchTokens })];
          assert.deepEqual(batches.flat(), order);
          for (const rows of batches) {
            assert.ok(rows.length >= 1 && rows.length <= batchSize);
            const padded = rows.length * Math.max(...rows.map((row) => sequences[row]!.length));
            // A single sequence longer than the budget still goes, alone.
            assert.ok(rows.length === 1 || padded <= maxBatchTokens, `${rows.length} rows pad to ${padded} > ${maxBatchTokens}`);
          }
        },
      ),
    );
  });

  it('pad far less than batches in arrival order', () => {
    // Lengths alternating short and long: arrival-order batches pad every short one to the long one.
    const sequences = Array.from({ length: 64 }, (_, i) => Array.from({ length: i % 2 === 0 ? 20 : 200 }, () => 7));
    const real = sequences.reduce((n, s) => n + s.length, 0);
    const cost = (batches: number[][]): number =>
      batches.reduce((n, rows) => n + rows.length * Math.max(...rows.map((r) => sequences[r]!.length)), 0);
    const config = { batchSize: 64, maxBatchTokens: 512 };
    const bucketed = cost([...planBatches(longestFirst(sequences), sequences, config)]);
    const arrival = cost([
      ...planBatches(
        sequences.map((_, i) => i),
        sequences,
        config,
      ),
    ]);
    assert.equal(bucketed, real);
    assert.ok(arrival > 1.5 * real, `arrival order padded ${arrival} tokens for ${real}`);
  });

  it('pads ids with the pad id and masks only real tokens', () => {
    const batch = padBatch(
      [
        [101, 7, 102],
        [101, 102],
      ],
      0,
    );
    assert.equal(batch.batchSize, 2);
    assert.equal(batch.sequenceLength, 3);
    assert.deepEqual([...batch.inputIds], [101n, 7n, 102n, 101n, 102n, 0n]);
    assert.deepEqual([...batch.attentionMask], [1n, 1n, 1n, 1n, 1n, 0n]);
  });
});
