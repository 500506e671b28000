import type { RateLimit } from './api-keys.ts';

// A token bucket per credential, in this process's memory: N gateways behind a load balancer
// allow N times the rate, and a restart refills every bucket. Good enough to stop one key from
// starving the others; a shared limit would need Redis and a round trip per request.

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Buckets untouched this long are full again anyway and are dropped, bounding memory. */
const IDLE_SWEEP_THRESHOLD = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; limit: RateLimit }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes one token from `id`'s bucket (created full with `limit`). */
  take(id: string, limit: RateLimit): RateDecision {
    const now = this.now();
    let bucket = this.buckets.get(id);
    if (!bucket || bucket.limit.perSecond !== limit.perSecond || bucket.limit.burst !== limit.burst) {
      if (this.buckets.size >= IDLE_SWEEP_THRESHOLD) this.sweep(now);
      bucket = { tokens: limit.burst, at: now, limit };
      this.buckets.set(id, bucket);
    }
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    for (const [id, bucket] of this.buckets) {
      const full = bucket.tokens + ((now - bucket.at) / 1000) * bucket.limit.perSecond >= bucket.limit.burst;
      if (full) this.buckets.delete(id);
    }
  }
}
