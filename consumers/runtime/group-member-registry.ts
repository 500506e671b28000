import { once } from 'node:events';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/** How often a member says it is alive. */
const REFRESH_MS = 1_000;
/** A member on another host that has not said so for this long counts as dead. */
const STALE_MS = 10_000;
/** How long a start waits for its Redis connection before it gives up removing dead members. */
const READY_WAIT_MS = 2_000;
/** An instance whose members all stopped refreshing is forgotten after this. */
const KEY_TTL_MS = 24 * 60 * 60_000;

/** Member ids this process holds now: another consumer of the same group in this process is alive, though its pid is ours. */
const heldHere = new Set<string>();

interface MemberEntry {
  host: string;
  pid: number;
  aliveAt: number;
}

export interface GroupMemberRegistryOptions {
  redis: Redis;
  /** topology.redis.groupMembers(group, instance). */
  key: string;
  /** This process, for telling a dead predecessor from a live sibling. */
  pid?: number;
  host?: string;
  now?: () => number;
  isProcessAlive?: (pid: number) => boolean;
}

/**
 * The members of one consumer group that one instance runs, in Redis, so that a process restarted
 * after a crash can name its dead predecessor's member id and have it removed from the group at
 * once (evict-members.ts), instead of waiting out its session while its partitions go unread.
 *
 * A recorded member is dead when it ran on this host and its process is gone, or its process id
 * is ours but no consumer of this process holds it (a container restarted in its own process namespace), or, on another host (a shared
 * SEARCHBUS_INSTANCE_ID), when it has not refreshed its entry for 10 s. A live sibling on the same
 * host is never taken for dead, however long its event loop stalls.
 */
export class GroupMemberRegistry {
  private memberId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly pid: number;
  private readonly host: string;
  private readonly now: () => number;
  private readonly isProcessAlive: (pid: number) => boolean;

  constructor(private readonly options: GroupMemberRegistryOptions) {
    this.pid = options.pid ?? process.pid;
    this.host = options.host ?? hostname();
    this.now = options.now ?? Date.now;
    this.isProcessAlive = options.isProcessAlive ?? processAlive;
  }

  /** Member ids recorded for this instance whose process is dead; none when Redis does not connect within 2 s (a command would wait for it). */
  async deadMembers(): Promise<string[]> {
    if (!(await this.redisReady())) return [];
    const entries = await this.options.redis.hgetall(this.options.key);
    return Object.entries(entries)
      .filter(([id, raw]) => !heldHere.has(id) && this.isDead(parseEntry(raw)))
      .map(([id]) => id);
  }

  /** Drops members from the record (evicted from the group, or gone). */
  async forget(memberIds: readonly string[]): Promise<void> {
    if (memberIds.length > 0 && this.options.redis.status === 'ready') await this.options.redis.hdel(this.options.key, ...memberIds);
  }

  /** This process joined the group as `memberId` (again, after a rebalance): recorded now and every second. */
  joined(memberId: string): void {
    const previous = this.memberId;
    this.memberId = memberId;
    heldHere.add(memberId);
    if (previous !== undefined && previous !== memberId) {
      heldHere.delete(previous);
      void this.forget([previous]).catch(() => undefined);
    }
    void this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), REFRESH_MS).unref();
  }

  /** Stops refreshing and removes this process' entry: a member that left needs no eviction. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const memberId = this.memberId;
    this.memberId = undefined;
    if (memberId === undefined) return;
    heldHere.delete(memberId);
    await this.forget([memberId]);
  }

  private async refresh(): Promise<void> {
    if (this.memberId === undefined) return;
    const entry: MemberEntry = { host: this.host, pid: this.pid, aliveAt: this.now() };
    // Redis down: the entry goes stale, which only matters for a restart on another host.
    await this.options.redis
      .multi()
      .hset(this.options.key, this.memberId, JSON.stringify(entry))
      .pexpire(this.options.key, KEY_TTL_MS)
      .exec()
      .catch(() => undefined);
  }

  private async redisReady(): Promise<boolean> {
    const { redis } = this.options;
    if (redis.status === 'ready') return true;
    const signal = AbortSignal.timeout(READY_WAIT_MS);
    return once(redis, 'ready', { signal }).then(
      () => true,
      () => false,
    );
  }

  private isDead(entry: MemberEntry | undefined): boolean {
    if (!entry) return true;
    if (entry.host === this.host) return entry.pid === this.pid || !this.isProcessAlive(entry.pid);
    return this.now() - entry.aliveAt > STALE_MS;
  }
}

function parseEntry(raw: string): MemberEntry | undefined {
  try {
    const value = JSON.parse(raw) as Partial<MemberEntry>;
    return typeof value.host === 'string' && typeof value.pid === 'number' && typeof value.aliveAt === 'number'
      ? { host: value.host, pid: value.pid, aliveAt: value.aliveAt }
      : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
