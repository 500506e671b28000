import type { Redis } from 'ioredis';
import type { MatchEventV1, Topology } from '../../topology/index.ts';
import { matchKey } from './match-documents.ts';

/**
 * Which matches were already announced, kept in Redis for a TTL. The feed is at least once (an
 * encoder crash between its event and its commit, a matcher crash between its event and its commit),
 * so the same document version can be matched twice; its key (watch, document, ingest offset) is
 * remembered once the match event is acknowledged, and a repeat within the TTL is dropped. A crash
 * between the event and the remembering gives a duplicate, never a loss.
 */
export class MatchDedupe {
  constructor(
    private readonly redis: Redis,
    private readonly topology: Topology,
    private readonly ttlMs: number,
  ) {}

  private key(match: MatchEventV1): string {
    return `${this.topology.redis.keyPrefix}watch-match:${matchKey(match)}`;
  }

  /** The matches not announced yet (one round trip). */
  async unseen(matches: MatchEventV1[]): Promise<MatchEventV1[]> {
    if (matches.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const m of matches) pipeline.exists(this.key(m));
    const answers = (await pipeline.exec()) ?? [];
    return matches.filter((_, i) => {
      const [error, exists] = answers[i] ?? [null, 0];
      if (error) throw error;
      return exists === 0;
    });
  }

  async remember(matches: MatchEventV1[]): Promise<void> {
    if (matches.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const m of matches) pipeline.set(this.key(m), '1', 'PX', this.ttlMs);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
}
