import { overlapAtK, rankBiasedOverlap, type ShadowBoard, type ShadowSample, type ShadowTarget } from '../quality/index.ts';
import { SECONDS_BUCKETS, silentLogger, type Logger, type MetricsRegistry, type ResolvedCollection } from '../runtime/index.ts';
import type { SearchHit, SearchRequestV1 } from '../../topology/index.ts';
import { searchPinned, type PinnedDependencies } from './pinned-search.ts';

/** A live answer the query consumer just published. */
export interface LiveAnswer {
  hits: SearchHit[];
  /** The consumer's time for the batch that held the request (the reply's tookMs). */
  ms: number;
}

export interface ShadowMirrorOptions {
  board: Pick<ShadowBoard, 'target' | 'record'>;
  deps: PinnedDependencies;
  /** A collection's model and vector layout, read from Qdrant. */
  describe: (collection: string) => Promise<ResolvedCollection>;
  /** The collection the alias serves now: nothing is mirrored to it. */
  liveCollection: () => Promise<string>;
  /** How long an announcement read from Redis is reused. */
  refreshMs: number;
  metrics: MetricsRegistry;
  logger?: Logger;
  random?: () => number;
}

const SHADOW_TIMEOUT_MS = 30_000;
const RATIO_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

/**
 * Shadow comparison on the query side: while a rebuild announces its target, a sample of the
 * requests this consumer has already answered is searched again on the target, through the same
 * handler with the target's model, and the two answers are compared (overlap@10, RBO, latency).
 * The second answer is never published. It runs after the live replies, one batch at a time: a
 * batch that arrives while one is in flight is not mirrored (counted as skipped), so mirroring
 * never delays or queues behind live traffic.
 */
export class ShadowMirror {
  private announcement: { at: number; target: ShadowTarget | null } | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly closed = new AbortController();
  private closing: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly outcomes;
  private readonly overlap;
  private readonly rbo;
  private readonly seconds;

  constructor(private readonly options: ShadowMirrorOptions) {
    this.logger = options.logger ?? silentLogger;
    const m = options.metrics;
    this.outcomes = m.counter(
      'searchbus_shadow_searches_total',
      'Live searches mirrored to a rebuild target, by outcome (compared, error, skipped)',
      ['outcome'],
    );
    this.overlap = m.histogram(
      'searchbus_shadow_overlap_at_10',
      'Share of the live top 10 also in the rebuild target top 10, per mirrored search',
      RATIO_BUCKETS,
    );
    this.rbo = m.histogram(
      'searchbus_shadow_rbo',
      'Rank-biased overlap (p = 0.9, depth 10) of live and rebuild target answers, per mirrored search',
      RATIO_BUCKETS,
    );
    this.seconds = m.histogram(
      'searchbus_shadow_search_seconds',
      'Time to answer a mirrored search, live and on the rebuild target (side)',
      SECONDS_BUCKETS,
      ['side'],
    );
  }

  /** Picks this batch's sample and mirrors it in the background. Never throws. */
  offer(requests: readonly SearchRequestV1[], live: ReadonlyMap<string, LiveAnswer>): void {
    if (this.closed.signal.aborted) return;
    const answered = requests.filter((r) => live.has(r.id));
    if (answered.length === 0) return;
    if (this.inFlight) {
      void this.currentTarget().then(
        (t) => t && this.outcomes.inc({ outcome: 'skipped' }, answered.length),
        () => undefined,
      );
      return;
    }
    this.inFlight = this.mirror(answered, live)
      .catch((error: unknown) => this.logger.warn('shadow comparison failed', { error }))
      .finally(() => (this.inFlight = undefined));
  }

  /** Resolves once no comparison is in flight. */
  async idle(): Promise<void> {
    await this.inFlight;
  }

  /** Abandons the comparison in flight (nothing waits for it) and stops mirroring. Idempotent. */
  close(): Promise<void> {
    this.closed.abort();
    this.closing ??= (async () => {
      await this.inFlight;
    })();
    return this.closing;
  }

  private async currentTarget(): Promise<ShadowTarget | null> {
    const now = Date.now();
    if (!this.announcement || now - this.announcement.at >= this.options.refreshMs) {
      this.announcement = { at: now, target: await this.options.board.target() };
    }
    return this.announcement.target;
  }

  private async mirror(requests: SearchRequestV1[], live: ReadonlyMap<string, LiveAnswer>): Promise<void> {
    const target = await this.currentTarget();
    if (!target || target.sampleRate <= 0) return;
    if (target.collection === (await this.options.liveCollection())) return;
    const random = this.options.random ?? Math.random;
    // Its own deadline: a mirrored search must not count as failed because the live one was quick to expire.
    const sample = requests.filter(() => random() < target.sampleRate).map((r) => ({ ...r, deadline: Date.now() + SHADOW_TIMEOUT_MS }));
    if (sample.length === 0) return;
    const started = performance.now();
    let answers: Map<string, SearchHit[] | Error>;
    try {
      answers = await searchPinned(sample, await this.options.describe(target.collection), this.options.deps, this.closed.signal);
    } catch (error) {
      if (this.closed.signal.aborted) return;
      throw error;
    }
    const shadowMs = performance.now() - started;
    const samples: ShadowSample[] = [];
    let errors = 0;
    for (const request of sample) {
      const answer = answers.get(request.id);
      const liveAnswer = live.get(request.id);
      if (!liveAnswer || !answer || answer instanceof Error) {
        errors += 1;
        continue;
      }
      const a = liveAnswer.hits.map((h) => h.docId);
      const b = answer.map((h) => h.docId);
      const sample = { overlapAt10: overlapAtK(a, b, 10), rbo: rankBiasedOverlap(a, b, 10), liveMs: liveAnswer.ms, shadowMs };
      samples.push(sample);
      this.overlap.observe(sample.overlapAt10);
      this.rbo.observe(sample.rbo);
      this.seconds.observe({ side: 'live' }, sample.liveMs / 1000);
      this.seconds.observe({ side: 'new' }, sample.shadowMs / 1000);
    }
    if (samples.length > 0) this.outcomes.inc({ outcome: 'compared' }, samples.length);
    if (errors > 0) this.outcomes.inc({ outcome: 'error' }, errors);
    await this.options.board.record(target.collection, samples, errors);
  }
}
