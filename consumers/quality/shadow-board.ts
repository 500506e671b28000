import type { Redis } from 'ioredis';
import type { Topology } from '../../topology/index.ts';
import { percentile } from './retrieval-metrics.ts';

// Shadow comparison of live traffic during a rebuild. The rebuild announces its target here while
// it tails the topic; query consumers (any number of replicas) read the announcement, mirror a
// sample of the requests they answer to the target, and add what they saw to one shared record
// per target, which the rebuild reads into its job progress.

export interface ShadowTarget {
  collection: string;
  modelId: string;
  jobId: string;
  /** Share of live requests mirrored, in [0, 1]. */
  sampleRate: number;
  since: string;
}

export interface ShadowSample {
  overlapAt10: number;
  rbo: number;
  liveMs: number;
  shadowMs: number;
}

export interface ShadowStats {
  collection: string;
  /** Requests answered by both and compared. */
  samples: number;
  /** Mirrored requests the target could not answer. */
  errors: number;
  overlapAt10: number | null;
  rbo: number | null;
  liveMs: { p50: number | null; p95: number | null };
  shadowMs: { p50: number | null; p95: number | null };
}

/** Latencies kept per side for the percentiles (the most recent ones). */
const LATENCIES_KEPT = 1000;
const STATS_TTL_SECONDS = 7 * 24 * 3600;

type BoardRedis = Pick<Redis, 'set' | 'get' | 'eval' | 'hgetall' | 'lrange' | 'pipeline'>;

export class ShadowBoard {
  private readonly targetKey: string;
  constructor(
    private readonly redis: BoardRedis,
    private readonly topology: Topology,
  ) {
    this.targetKey = `${topology.redis.keyPrefix}shadow-target:${topology.qdrant.alias}`;
  }

  private statsKey(collection: string, part: 'sums' | 'live-ms' | 'shadow-ms'): string {
    return `${this.topology.redis.keyPrefix}shadow-stats:${collection}:${part}`;
  }

  /** Announces (or renews) the target; it lapses after `ttlMs` unless renewed, so a dead rebuild stops the mirroring. */
  async announce(target: ShadowTarget, ttlMs: number): Promise<void> {
    await this.redis.set(this.targetKey, JSON.stringify(target), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  /** Stops the mirroring to `collection` (and to nothing else). */
  async withdraw(collection: string): Promise<void> {
    const script = `local v = redis.call('GET', KEYS[1]) if v and cjson.decode(v).collection == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
    await this.redis.eval(script, 1, this.targetKey, collection);
  }

  async target(): Promise<ShadowTarget | null> {
    const raw = await this.redis.get(this.targetKey);
    return raw === null ? null : (JSON.parse(raw) as ShadowTarget);
  }

  async record(collection: string, samples: readonly ShadowSample[], errors: number): Promise<void> {
    if (samples.length === 0 && errors === 0) return;
    const sums = this.statsKey(collection, 'sums');
    const pipeline = this.redis.pipeline();
    pipeline.hincrby(sums, 'samples', samples.length);
    pipeline.hincrby(sums, 'errors', errors);
    pipeline.hincrbyfloat(
      sums,
      'overlap',
      samples.reduce((s, x) => s + x.overlapAt10, 0),
    );
    pipeline.hincrbyfloat(
      sums,
      'rbo',
      samples.reduce((s, x) => s + x.rbo, 0),
    );
    pipeline.expire(sums, STATS_TTL_SECONDS);
    for (const [part, values] of [
      ['live-ms', samples.map((s) => s.liveMs)],
      ['shadow-ms', samples.map((s) => s.shadowMs)],
    ] as const) {
      if (values.length === 0) continue;
      const key = this.statsKey(collection, part);
      pipeline.lpush(key, ...values.map((v) => v.toFixed(1)));
      pipeline.ltrim(key, 0, LATENCIES_KEPT - 1);
      pipeline.expire(key, STATS_TTL_SECONDS);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  async stats(collection: string): Promise<ShadowStats> {
    const [sums, live, shadow] = await Promise.all([
      this.redis.hgetall(this.statsKey(collection, 'sums')),
      this.redis.lrange(this.statsKey(collection, 'live-ms'), 0, -1),
      this.redis.lrange(this.statsKey(collection, 'shadow-ms'), 0, -1),
    ]);
    const samples = Number(sums.samples ?? 0);
    const latency = (values: string[]): { p50: number | null; p95: number | null } => {
      const numbers = values.map(Number);
      return numbers.length === 0 ? { p50: null, p95: null } : { p50: percentile(numbers, 50), p95: percentile(numbers, 95) };
    };
    const average = (field: string): number | null => (samples === 0 ? null : Number((Number(sums[field] ?? 0) / samples).toFixed(4)));
    return {
      collection,
      samples,
      errors: Number(sums.errors ?? 0),
      overlapAt10: average('overlap'),
      rbo: average('rbo'),
      liveMs: latency(live),
      shadowMs: latency(shadow),
    };
  }
}

/** "shadow 42 requests: overlap@10 0.71, RBO 0.66, p50 12.0 ms live / 14.5 ms new". */
export function formatShadow(stats: ShadowStats): string {
  if (stats.samples === 0) return `shadow: no request mirrored yet${stats.errors ? ` (${stats.errors} errors)` : ''}`;
  const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(1));
  return `shadow ${stats.samples} requests: overlap@10 ${stats.overlapAt10?.toFixed(3)}, RBO ${stats.rbo?.toFixed(3)}, p50 ${ms(stats.liveMs.p50)} ms live / ${ms(stats.shadowMs.p50)} ms new, p95 ${ms(stats.liveMs.p95)} / ${ms(stats.shadowMs.p95)}${stats.errors ? `, ${stats.errors} errors` : ''}`;
}
