import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LengthBatcher, longestTextsFirst, planBatches, streamedBatches } from '../../../../../consumers/embedding/index.ts';

const padded = (rows: number[], lengths: readonly number[]): number => rows.length * Math.max(...rows.map((row) => lengths[row]!));

describe('LengthBatcher (batches released while tokenising)', () => {
  it('releases every row exactly once, in batches within the row and padded-token budgets, whatever the arrival order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 300 }), { minLength: 0, maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 4096 }),
        fc.integer(),
        (lengths, batchSize, maxBatchTokens, seed) => {
          // A shuffled arrival order: the character-length proxy can be wrong in any way.
          const order = lengths.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 97) - ((b * 7919 + seed) % 97));
          const batches = streamedBatches(order, lengths, { batchSize, maxBatchTokens });
          assert.deepEqual(
            batches.flat().sort((a, b) => a - b),
            lengths.map((_, i) => i),
          );
          for (const rows of batches) {
            assert.ok(rows.length >= 1 && rows.length <= batchSize);
            assert.ok(rows.length === 1 || padded(rows, lengths) <= maxBatchTokens, `${rows.length} rows pad to ${padded(rows, lengths)}`);
          }
        },
      ),
    );
  });

  it('forms exactly the batches of a full sort when the rows arrive longest first', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 300 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 4096 }),
        (lengths, batchSize, maxBatchTokens) => {
          const sorted = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
          const sequences = lengths.map((n) => new Array<number>(n).fill(7));
          assert.deepEqual(streamedBatches(sorted, lengths, { batchSize, maxBatchTokens }), [
            ...planBatches(sorted, sequences, { batchSize, maxBatchTokens }),
          ]);
        },
      ),
    );
  });

  it('releases the first batch long before the last row arrives, so inference overlaps tokenising', () => {
    const batcher = new LengthBatcher({ batchSize: 64, maxBatchTokens: 512 });
    let firstRelease: number | undefined;
    for (let row = 0; row < 200; row++) {
      const ready = batcher.push(row, 256);
      if (ready.length > 0) {
        firstRelease ??= row;
        for (const rows of ready) assert.equal(rows.length, 2);
      }
    }
    // Two 256-token rows per batch and eight complete batches kept behind the head: row 18 (the
    // 19th) opens a tenth batch, which closes the ninth.
    assert.equal(firstRelease, 18);
    assert.ok(batcher.flush().length > 0);
    assert.deepEqual(batcher.flush(), []);
  });

  it('keeps a late, longer row out of batches already released (it is padded with its own kind)', () => {
    const lengths = [...new Array<number>(40).fill(100), 300];
    const batches = streamedBatches(
      lengths.map((_, i) => i),
      lengths,
      { batchSize: 4, maxBatchTokens: 512 },
    );
    assert.deepEqual(
      batches.flat().sort((a, b) => a - b),
      lengths.map((_, i) => i),
    );
    const late = batches.find((rows) => rows.includes(40))!;
    assert.equal(late.length, 1, 'a 300-token row fits only alone under a 512-token budget');
  });

  it('rejects a row pushed twice', () => {
    const batcher = new LengthBatcher({ batchSize: 8, maxBatchTokens: 512 });
    batcher.push(3, 10);
    assert.throws(() => batcher.push(3, 12), RangeError);
  });
});

describe('longestTextsFirst', () => {
  it('orders by length, longest first, ties in input order', () => {
    assert.deepEqual(longestTextsFirst(['bb', 'a', 'cccc', 'dd', '']), [2, 0, 3, 1, 4]);
    assert.deepEqual(longestTextsFirst([]), []);
  });
});
