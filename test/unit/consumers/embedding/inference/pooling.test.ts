import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clsPool, cosineSimilarity, l2Normalize, meanPool, pool } from '../../../../../consumers/embedding/inference/pooling.ts';

// Two sequences of three positions, dimension two:
//   row 0: [1,2] [3,4] [100,100]   mask 1 1 0  -> mean of the first two = [2,3]
//   row 1: [5,6] [7,8] [9,10]      mask 1 1 1  -> [7,8]
const embeddings = {
  data: new Float32Array([1, 2, 3, 4, 100, 100, 5, 6, 7, 8, 9, 10]),
  batchSize: 2,
  sequenceLength: 3,
  dimension: 2,
};

describe('meanPool', () => {
  it('averages only the positions the attention mask keeps', () => {
    const pooled = meanPool(embeddings, [1, 1, 0, 1, 1, 1]);
    assert.deepEqual(Array.from(pooled[0]!), [2, 3]);
    assert.deepEqual(Array.from(pooled[1]!), [7, 8]);
  });

  it('accepts the bigint mask that is fed to onnxruntime', () => {
    const pooled = meanPool(embeddings, new BigInt64Array([1n, 0n, 0n, 0n, 0n, 1n]));
    assert.deepEqual(Array.from(pooled[0]!), [1, 2]);
    assert.deepEqual(Array.from(pooled[1]!), [9, 10]);
  });

  it('yields zeros, not NaN, for a fully masked row', () => {
    const pooled = meanPool(embeddings, [0, 0, 0, 1, 0, 0]);
    assert.deepEqual(Array.from(pooled[0]!), [0, 0]);
    assert.deepEqual(Array.from(pooled[1]!), [5, 6]);
  });

  it('rejects buffers that do not match the declared shape', () => {
    assert.throws(() => meanPool({ ...embeddings, dimension: 3 }, [1, 1, 1, 1, 1, 1]), RangeError);
    assert.throws(() => meanPool(embeddings, [1, 1, 1]), RangeError);
  });
});

describe('clsPool', () => {
  it('takes the first position of each row and copies it', () => {
    const pooled = clsPool(embeddings);
    assert.deepEqual(Array.from(pooled[0]!), [1, 2]);
    assert.deepEqual(Array.from(pooled[1]!), [5, 6]);
    pooled[0]![0] = 42;
    assert.equal(embeddings.data[0], 1);
  });
});

describe('l2Normalize', () => {
  it('scales to unit length', () => {
    const vector = l2Normalize(new Float32Array([3, 4]));
    assert.ok(Math.abs(vector[0]! - 0.6) < 1e-7);
    assert.ok(Math.abs(vector[1]! - 0.8) < 1e-7);
  });

  it('leaves a zero vector at zero', () => {
    assert.deepEqual(Array.from(l2Normalize(new Float32Array([0, 0, 0]))), [0, 0, 0]);
  });
});

describe('pool', () => {
  it('mean-pools then normalises', () => {
    const [first] = pool(embeddings, [1, 1, 0, 1, 1, 1], { pooling: 'mean', normalize: true });
    const norm = Math.hypot(2, 3);
    assert.ok(Math.abs(first![0]! - 2 / norm) < 1e-7);
    assert.ok(Math.abs(first![1]! - 3 / norm) < 1e-7);
  });

  it('uses [CLS] when asked and can skip normalisation', () => {
    const [, second] = pool(embeddings, [1, 1, 1, 1, 1, 1], { pooling: 'cls', normalize: false });
    assert.deepEqual(Array.from(second!), [5, 6]);
  });
});

describe('cosineSimilarity', () => {
  it('is 1 for parallel, 0 for orthogonal and -1 for opposite vectors', () => {
    assert.ok(Math.abs(cosineSimilarity([1, 2], [2, 4]) - 1) < 1e-12);
    assert.equal(cosineSimilarity([1, 0], [0, 3]), 0);
    assert.ok(Math.abs(cosineSimilarity([1, 1], [-1, -1]) + 1) < 1e-12);
  });

  it('refuses vectors of different lengths', () => {
    assert.throws(() => cosineSimilarity([1], [1, 2]), RangeError);
  });
});
