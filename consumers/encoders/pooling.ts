// Sentence embeddings from token embeddings, as sentence-transformers' Pooling and Normalize
// modules compute them. Pure functions over flat row-major buffers, so they run unchanged in the
// inference worker and in unit tests.
import type { Pooling } from '../../topology/models.ts';

export interface TokenEmbeddings {
  /** Row-major [batchSize, sequenceLength, dimension]. */
  readonly data: Float32Array;
  readonly batchSize: number;
  readonly sequenceLength: number;
  readonly dimension: number;
}

/**
 * Mean over the positions whose attention mask is non-zero. A row with no attended position
 * yields zeros rather than NaN (sentence-transformers clamps the count to 1e-9 for the same reason).
 */
export function meanPool(embeddings: TokenEmbeddings, attentionMask: ArrayLike<number | bigint>): Float32Array[] {
  const { data, batchSize, sequenceLength, dimension } = embeddings;
  checkShape(embeddings, attentionMask);
  const pooled: Float32Array[] = [];
  for (let row = 0; row < batchSize; row++) {
    // Accumulate in float64: the reference sums in float32, but the difference is far below the
    // tolerance that matters and float64 keeps long sequences from drifting.
    const sum = new Float64Array(dimension);
    let count = 0;
    for (let position = 0; position < sequenceLength; position++) {
      const weight = Number(attentionMask[row * sequenceLength + position]);
      if (weight === 0) continue;
      count += weight;
      const base = (row * sequenceLength + position) * dimension;
      for (let d = 0; d < dimension; d++) sum[d]! += data[base + d]! * weight;
    }
    const out = new Float32Array(dimension);
    if (count > 0) for (let d = 0; d < dimension; d++) out[d] = sum[d]! / count;
    pooled.push(out);
  }
  return pooled;
}

/** The first position's vector ([CLS]), as BGE models are trained to use. */
export function clsPool(embeddings: TokenEmbeddings): Float32Array[] {
  const { data, batchSize, sequenceLength, dimension } = embeddings;
  checkShape(embeddings);
  const pooled: Float32Array[] = [];
  for (let row = 0; row < batchSize; row++) {
    const base = row * sequenceLength * dimension;
    pooled.push(data.slice(base, base + dimension));
  }
  return pooled;
}

/** Scales in place to unit length; a zero vector stays zero (torch's normalize clamps the norm likewise). */
export function l2Normalize(vector: Float32Array): Float32Array {
  let squares = 0;
  for (let d = 0; d < vector.length; d++) squares += vector[d]! * vector[d]!;
  const norm = Math.max(Math.sqrt(squares), 1e-12);
  for (let d = 0; d < vector.length; d++) vector[d] = vector[d]! / norm;
  return vector;
}

export function pool(
  embeddings: TokenEmbeddings,
  attentionMask: ArrayLike<number | bigint>,
  options: { pooling: Pooling; normalize: boolean },
): Float32Array[] {
  const pooled = options.pooling === 'cls' ? clsPool(embeddings) : meanPool(embeddings, attentionMask);
  if (options.normalize) for (const vector of pooled) l2Normalize(vector);
  return pooled;
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cosine of vectors of different lengths (${a.length} vs ${b.length})`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(normA) * Math.sqrt(normB));
}

function checkShape(embeddings: TokenEmbeddings, attentionMask?: ArrayLike<number | bigint>): void {
  const { data, batchSize, sequenceLength, dimension } = embeddings;
  if (data.length !== batchSize * sequenceLength * dimension) {
    throw new RangeError(
      `token embeddings hold ${data.length} values, expected ${batchSize}x${sequenceLength}x${dimension}`,
    );
  }
  if (attentionMask && attentionMask.length !== batchSize * sequenceLength) {
    throw new RangeError(`attention mask holds ${attentionMask.length} values, expected ${batchSize}x${sequenceLength}`);
  }
}
