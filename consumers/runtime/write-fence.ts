import type { Redis } from 'ioredis';
import type { Topology } from '../../topology/index.ts';

/**
 * The hand-over of a collection from a rebuild to the live encoders. While `closed`, only the
 * rebuild writes to it; once `open`, live encoders write every message from `offsets` on (per
 * partition) and skip the earlier ones, which the rebuild applied. One writer per message, so an
 * older version of a document can never overwrite a newer one, nor revive a deleted one.
 * No fence means open from the start (a collection made by `topology apply`).
 */
export type WriteFence = { state: 'closed' } | { state: 'open'; offsets: Record<string, string> };

export interface WriteFences {
  get(collection: string): Promise<WriteFence | null>;
}

export class RedisWriteFences implements WriteFences {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    topology: Topology,
  ) {
    this.key = `${topology.redis.keyPrefix}write-fences`;
  }

  async get(collection: string): Promise<WriteFence | null> {
    const raw = await this.redis.hget(this.key, collection);
    return raw ? (JSON.parse(raw) as WriteFence) : null;
  }

  async close(collection: string): Promise<void> {
    await this.redis.hset(this.key, collection, JSON.stringify({ state: 'closed' } satisfies WriteFence));
  }

  async open(collection: string, offsets: Record<string, string>): Promise<void> {
    await this.redis.hset(this.key, collection, JSON.stringify({ state: 'open', offsets } satisfies WriteFence));
  }

  async remove(collection: string): Promise<void> {
    await this.redis.hdel(this.key, collection);
  }
}

/** Whether a live encoder writes the message at `offset` of `partition` to a fenced collection. */
export function passesFence(fence: WriteFence | null, partition: number, offset: string): boolean {
  if (!fence) return true;
  if (fence.state === 'closed') return false;
  const from = fence.offsets[String(partition)];
  return from === undefined || BigInt(offset) >= BigInt(from);
}
