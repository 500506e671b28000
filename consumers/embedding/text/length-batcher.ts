// Length-bucketed batches, planned as the token sequences arrive. The encoder tokenises texts in
// order of character length (a close proxy for token length) and hands each sequence to a
// LengthBatcher, which releases a batch as soon as a few more are queued behind it: inference of
// the first batch starts while the rest of the call is still being tokenised, and padding stays
// what a full sort would give (the look-ahead absorbs the proxy's errors).

export interface BatchLimits {
  /** At most this many sequences per batch. */
  readonly batchSize: number;
  /** At most this many padded tokens per batch (a longer sequence still goes, alone). */
  readonly maxBatchTokens: number;
}

/**
 * Consecutive runs of `order` (longest first) within both the sequence and the token budget:
 * length-bucketed batches, so a batch pads only to the longest of texts of nearly its length.
 */
export function* planBatches(
  order: readonly number[],
  sequences: readonly (readonly unknown[])[],
  limits: BatchLimits,
): Generator<number[]> {
  yield* planByLength(order, (row) => sequences[row]!.length, limits);
}

function* planByLength(order: readonly number[], lengthOf: (row: number) => number, limits: BatchLimits): Generator<number[]> {
  let rows: number[] = [];
  for (const row of order) {
    // Sorted longest first, so the first row of a batch sets its padded length.
    const padded = lengthOf(rows[0] ?? row);
    if (rows.length > 0 && (rows.length >= limits.batchSize || (rows.length + 1) * padded > limits.maxBatchTokens)) {
      yield rows;
      rows = [];
    }
    rows.push(row);
  }
  if (rows.length > 0) yield rows;
}

/** Batches kept complete behind the one released: enough to reorder a proxy's near-sorted stream. */
const LOOKAHEAD_BATCHES = 8;

export class LengthBatcher {
  /** Rows not yet released, longest first (ties in arrival order). */
  private readonly pending: number[] = [];
  private readonly lengths = new Map<number, number>();

  constructor(private readonly limits: BatchLimits) {}

  /**
   * Queues a row (its length in tokens) and returns the batches now ready: the first batch of the
   * pending rows' plan, once LOOKAHEAD_BATCHES more complete batches stand behind it.
   */
  push(row: number, length: number): number[][] {
    if (this.lengths.has(row)) throw new RangeError(`row ${row} was already pushed`);
    this.lengths.set(row, length);
    // Binary search for the first pending row shorter than this one (stable for equal lengths).
    let low = 0;
    let high = this.pending.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.lengths.get(this.pending[mid]!)! >= length) low = mid + 1;
      else high = mid;
    }
    this.pending.splice(low, 0, row);
    const ready: number[][] = [];
    for (let batch = this.headIfReady(); batch; batch = this.headIfReady()) ready.push(this.release(batch.length));
    return ready;
  }

  /** Every remaining row, in batches. */
  flush(): number[][] {
    const batches = [...planByLength(this.pending, (row) => this.lengths.get(row)!, this.limits)];
    this.pending.length = 0;
    this.lengths.clear();
    return batches;
  }

  private headIfReady(): number[] | undefined {
    let head: number[] | undefined;
    let count = 0;
    for (const rows of planByLength(this.pending, (row) => this.lengths.get(row)!, this.limits)) {
      head ??= rows;
      // The last planned batch may still grow, so only the ones before it count as complete.
      if (++count > LOOKAHEAD_BATCHES + 1) return head;
    }
    return undefined;
  }

  private release(count: number): number[] {
    const rows = this.pending.splice(0, count);
    for (const row of rows) this.lengths.delete(row);
    return rows;
  }
}

/** Indices of `texts`, longest (in UTF-16 units) first, ties in input order: the tokenising order. */
export function longestTextsFirst(texts: readonly string[]): number[] {
  return texts.map((_, index) => index).sort((a, b) => texts[b]!.length - texts[a]!.length || a - b);
}

/**
 * The batches the encoder forms for sequences arriving in `order`: what a LengthBatcher releases,
 * then its flush. Pure; the benchmark feeds bare session.run exactly these.
 */
export function streamedBatches(order: readonly number[], lengths: readonly number[], limits: BatchLimits): number[][] {
  const batcher = new LengthBatcher(limits);
  const batches: number[][] = [];
  for (const row of order) batches.push(...batcher.push(row, lengths[row]!));
  batches.push(...batcher.flush());
  return batches;
}
