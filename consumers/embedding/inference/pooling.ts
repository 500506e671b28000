// Sentence embeddings from token embeddings, as sentence-transformers' Pooling and Normalize
// modules compute them. Pure functions over flat row-major buffers, so they run unchanged in the
// inference worker and in unit tests.
import type { Pooling } from '../../../topology/models.ts';

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
  return split(meanPoolInto(embeddings, attentionMask, new Float32Array(embeddings.batchSize * embeddings.dimension)), embeddings);
}

/**
 * meanPool written into `out` (batchSize x dimension, back to back): the inference worker pools
 * straight into the buffer it transfers, with one accumulator for the whole batch.
 */
function meanPoolInto(embeddings: TokenEmbeddings, attentionMask: ArrayLike<number | bigint>, out: Float32Array): Float32Array {
  const { data, batchSize, sequenceLength, dimension } = embeddings;
  checkShape(embeddings, attentionMask, out);
  // Accumulate in float64: the reference sums in float32, but the difference is far below the
  // tolerance that matters and float64 keeps long sequences from drifting.
  const sum = new Float64Array(dimension);
  for (let row = 0; row < batchSize; row++) {
    sum.fill(0);
    let count = 0;
    for (let position = 0; position < sequenceLength; position++) {
      const weight = Number(attentionMask[row * sequenceLength + position]);
      if (weight === 0) continue;
      count += weight;
      const base = (row * sequenceLength + position) * dimension;
      // The mask is 0/1 for every model here; the multiply is kept for other weights.
      if (weight === 1) for (let d = 0; d < dimension; d++) sum[d]! += data[base + d]!;
      else for (let d = 0; d < dimension; d++) sum[d]! += data[base + d]! * weight;
    }
    const offset = row * dimension;
    if (count > 0) for (let d = 0; d < dimension; d++) out[offset + d] = sum[d]! / count;
    else out.fill(0, offset, offset + dimension);
  }
  return out;
}

/** The first position's vector ([CLS]), as BGE models are trained to use. */
export function clsPool(embeddings: TokenEmbeddings): Float32Array[] {
  return split(clsPoolInto(embeddings, new Float32Array(embeddings.batchSize * embeddings.dimension)), embeddings);
}

function clsPoolInto(embeddings: TokenEmbeddings, out: Float32Array): Float32Array {
  const { data, batchSize, sequenceLength, dimension } = embeddings;
  checkShape(embeddings, undefined, out);
  for (let row = 0; row < batchSize; row++) {
    const base = row * sequenceLength * dimension;
    out.set(data.subarray(base, base + dimension), row * dimension);
  }
  return out;
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
  return split(poolInto(embeddings, attentionMask, options, new Float32Array(embeddings.batchSize * embeddings.dimension)), embeddings);
}

/** pool() written into `out`, batchSize x dimension back to back (no vector allocated per row). */
export function poolInto(
  embeddings: TokenEmbeddings,
  attentionMask: ArrayLike<number | bigint>,
  options: { pooling: Pooling; normalize: boolean },
  out: Float32Array,
): Float32Array {
  if (options.pooling === 'cls') clsPoolInto(embeddings, out);
  else meanPoolInto(embeddings, attentionMask, out);
  if (options.normalize) {
    const { batchSize, dimension } = embeddings;
    for (let row = 0; row < batchSize; row++) l2Normalize(out.subarray(row * dimension, (row + 1) * dimension));
  }
  return out;
}

/** One copied vector per row of a back-to-back buffer. */
function split(flat: Float32Array, { batchSize, dimension }: TokenEmbeddings): Float32Array[] {
  return Array.from({ length: batchSize }, (_, row) => flat.slice(row * dimension, (row + 1) * dimension));
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

function checkShape(embeddings: TokenEmbeddings, attentionMask?: ArrayLike<number | bigint>, out?: Float32Array): void {
  const { data, batchSize, sequenceLength, dimension } = embeddings;
  if (data.length !== batchSize * sequenceLength * dimension) {
    throw new RangeError(`token embeddings hold ${data.length} values, expected ${batchSize}x${sequenceLength}x${dimension}`);
  }
  if (attentionMask && attentionMask.length !== batchSize * sequenceLength) {
    throw new RangeError(`attention mask holds ${attentionMask.length} values, expected ${batchSize}x${sequenceLength}`);
  }
  if (out && out.length !== batchSize * dimension) {
    throw new RangeError(`output buffer holds ${out.length} values, expected ${batchSize}x${dimension}`);
  }
}
