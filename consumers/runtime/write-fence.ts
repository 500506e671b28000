import type { Redis } from 'ioredis';
import type { Topology } from '../../topology/index.ts';

/**
 * Who holds a closed fence, and until when. The rebuild renews it while it runs; once it lapses
 * (the worker died, hung, or lost Redis) anyone may reopen the fence at the owner group's
 * committed offsets. `expiresAt` is in Redis server time, so process clocks never matter.
 */
export interface FenceLease {
  /** Unique per job attempt (the BullMQ lock token): a retry of the same job is another owner. */
  owner: string;
  jobId: string;
  /** The rebuild's consumer group: where it stopped is where live encoders take over. */
  groupId: string;
  expiresAt: number;
}

/**
 * The hand-over of a collection from a rebuild to the live encoders. While `closed`, only the
 * rebuild holding the lease writes to it; once `open`, live encoders write every message from
 * `offsets` on (per partition) and skip the earlier ones, which the rebuild applied. One writer per
 * message, so an older version of a document can never overwrite a newer one, nor revive a deleted
 * one. No fence means open from the start (a collection made by `topology apply`). A closed fence
 * without a lease (written before leases existed) counts as lapsed.
 */
export type WriteFence =
  | { state: 'closed'; lease?: FenceLease }
  | {
      state: 'open';
      offsets: Record<string, string>;
      /**
       * Set when the fence was reopened without the rebuild's final drain (it died, or its job
       * failed): live encoders may already have consumed, into the previous collection, messages
       * past where the rebuild group stopped. A live encoder whose partition is further than its
       * `rewind` offset seeks back there once, so those messages reach this collection too. Each
       * live group (text and media, when split) rewinds on its own: it stays until the next fence.
       */
      rewind?: Record<string, string>;
      /**
       * Per `<group>/<partition>` with a rewind under way: the offset after the last batch that
       * group wrote from the rewind point. A batch starting exactly there proves that batch was
       * committed, so the group's rewind is over; a batch starting anywhere else past the rewind
       * point must seek back again. (Keyed by partition alone before groups were split: such an
       * entry names no group, and a group replays once more.)
       */
      caught?: Record<string, string>;
      /** `<group>/<partition>` whose rewind is over: that group wrote everything from the rewind point here. */
      rewound?: string[];
    };

export type AcquireResult = { outcome: 'acquired'; lease: FenceLease } | { outcome: 'held'; lease: FenceLease } | { outcome: 'open' };

/** What a live encoder needs: read the fence, and take over one whose lease lapsed. */
export interface WriteFences {
  get(collection: string): Promise<WriteFence | null>;
  /**
   * If `collection`'s fence is closed and its lease lapsed, reopens it (atomically: of several
   * callers exactly one does) at the offsets `offsetsOf` gives for the lease's group. Returns the
   * fence in force afterwards.
   */
  takeOverLapsed?(collection: string, offsetsOf: (groupId: string) => Promise<Record<string, string>>): Promise<WriteFence | null>;
  /** Records that `group` wrote a batch from the rewind point of `partition` up to `next`. */
  markCaught?(collection: string, group: string, partition: number, rewind: string, next: string): Promise<void>;
  /** `group`'s rewind of `partition` to `rewind` is over; atomic, idempotent. */
  clearRewind?(collection: string, group: string, partition: number, rewind: string): Promise<void>;
}

/** Whether a closed fence may be taken over at `nowMs` (server time): no lease, or an expired one. */
export function leaseLapsed(fence: WriteFence | null, nowMs: number): boolean {
  if (fence?.state !== 'closed') return false;
  return fence.lease === undefined || fence.lease.expiresAt <= nowMs;
}

/** Whether a live encoder writes the message at `offset` of `partition` to a fenced collection. */
export function passesFence(fence: WriteFence | null, partition: number, offset: string): boolean {
  if (!fence) return true;
  if (fence.state === 'closed') return false;
  const from = fence.offsets[String(partition)];
  return from === undefined || BigInt(offset) >= BigInt(from);
}

// Every transition is one Lua script, so a renewal, a take-over and a release can never interleave.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] hash; ARGV collection, owner, jobId, groupId, leaseMs, mayCloseOpen ('1'|'0'). */
const ACQUIRE = `${NOW}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local f = cjson.decode(raw)
  if f.state == 'open' and ARGV[6] ~= '1' then return {'open', raw} end
  if f.state == 'closed' and type(f.lease) == 'table' and f.lease.owner ~= ARGV[2] and tonumber(f.lease.expiresAt) > now then return {'held', raw} end
end
local enc = cjson.encode({ state = 'closed', lease = { owner = ARGV[2], jobId = ARGV[3], groupId = ARGV[4], expiresAt = now + tonumber(ARGV[5]) } })
redis.call('HSET', KEYS[1], ARGV[1], enc)
return {'acquired', enc}`;

/** ARGV collection, owner, leaseMs (0: only check), marginMs. Returns ms left, or -1 when not held. */
const RENEW = `${NOW}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local f = cjson.decode(raw)
if f.state ~= 'closed' or type(f.lease) ~= 'table' or f.lease.owner ~= ARGV[2] then return -1 end
if tonumber(ARGV[3]) > 0 then
  f.lease.expiresAt = now + tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
end
return tonumber(f.lease.expiresAt) - now`;

/**
 * ARGV collection, mode, owner, open fence JSON. Opens a closed fence when mode is
 * 'owner' (the caller holds the lease), 'lapsed' (the lease of `owner` lapsed; '' = no lease) or
 * 'any'. Returns 1 if it opened it.
 */
const REOPEN = `${NOW}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local f = cjson.decode(raw)
if f.state ~= 'closed' then return 0 end
local lease = f.lease
local owner = ''
if type(lease) == 'table' then owner = lease.owner end
if ARGV[2] == 'owner' and owner ~= ARGV[3] then return 0 end
if ARGV[2] == 'lapsed' then
  if owner ~= ARGV[3] then return 0 end
  if type(lease) == 'table' and tonumber(lease.expiresAt) > now then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1`;

/**
 * ARGV collection, partition, rewind offset, caught offset ('' to clear), group. With K =
 * `<group>/<partition>`: sets caught[K], or drops caught[K] and adds K to rewound, if
 * rewind[partition] still is that offset. The rewind itself stays: another live group (text and
 * media groups each read every partition) may not have rewound yet, and ending it for all when one
 * group is done would leave the other's records in the previous collection only.
 */
const UPDATE_REWIND = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local f = cjson.decode(raw)
if f.state ~= 'open' or type(f.rewind) ~= 'table' or f.rewind[ARGV[2]] ~= ARGV[3] then return 0 end
local key = ARGV[5] .. '/' .. ARGV[2]
if type(f.caught) ~= 'table' then f.caught = {} end
if ARGV[4] == '' then
  f.caught[key] = nil
  if type(f.rewound) ~= 'table' then f.rewound = {} end
  local seen = false
  for _, k in ipairs(f.rewound) do if k == key then seen = true end end
  if not seen then table.insert(f.rewound, key) end
else
  f.caught[key] = ARGV[4]
end
if next(f.caught) == nil then f.caught = nil end
if next(f.offsets) == nil then f.offsets = cjson.decode('{}') end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
return 1`;

/** Returns {hash as flat list, now}. */
const LIST = `${NOW}
return {redis.call('HGETALL', KEYS[1]), tostring(now)}`;

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
    return raw ? parseFence(raw) : null;
  }

  /** Every fence, and Redis' clock to judge their leases by. */
  async list(): Promise<{ fences: Map<string, WriteFence>; nowMs: number }> {
    const [flat, now] = (await this.redis.eval(LIST, 1, this.key)) as [string[], string];
    const fences = new Map<string, WriteFence>();
    for (let i = 0; i + 1 < flat.length; i += 2) fences.set(flat[i] ?? '', parseFence(flat[i + 1] ?? '{}'));
    return { fences, nowMs: Number(now) };
  }

  /**
   * Closes the fence for `lease.owner`, unless another owner's lease is still running (`held`) or
   * the fence is open and `mayCloseOpen` is false (`open`: live encoders took the collection over).
   */
  async acquire(collection: string, lease: Omit<FenceLease, 'expiresAt'>, leaseMs: number, mayCloseOpen: boolean): Promise<AcquireResult> {
    const [outcome, raw] = (await this.redis.eval(
      ACQUIRE,
      1,
      this.key,
      collection,
      lease.owner,
      lease.jobId,
      lease.groupId,
      String(leaseMs),
      mayCloseOpen ? '1' : '0',
    )) as [string, string];
    if (outcome === 'open') return { outcome: 'open' };
    const fence = parseFence(raw);
    if (fence.state !== 'closed' || !fence.lease) throw new Error(`write fence of ${collection} is malformed: ${raw}`);
    return { outcome: outcome === 'held' ? 'held' : 'acquired', lease: fence.lease };
  }

  /** Extends `owner`'s lease by `leaseMs` from now; false if it no longer holds the fence. */
  async renew(collection: string, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.leftMs(collection, owner, leaseMs)) >= 0;
  }

  /** Whether `owner` holds the fence with more than `marginMs` of its lease left. */
  async holds(collection: string, owner: string, marginMs: number): Promise<boolean> {
    return (await this.leftMs(collection, owner, 0)) > marginMs;
  }

  private async leftMs(collection: string, owner: string, leaseMs: number): Promise<number> {
    return Number(await this.redis.eval(RENEW, 1, this.key, collection, owner, String(leaseMs)));
  }

  /**
   * Opens a closed fence at `offsets`: `owner` mode if the caller holds it, `lapsed` mode if the
   * lease of `owner` ran out, `any` for a fence whose job is known to be over. True if it opened it.
   */
  async reopen(
    collection: string,
    offsets: Record<string, string>,
    mode: 'owner' | 'lapsed' | 'any',
    owner = '',
    rewind = mode !== 'owner',
  ): Promise<boolean> {
    // Only the rebuild's release after its complete drain needs no rewind; any other reopening asks
    // live encoders to read again from where the rebuild group stopped.
    const open = JSON.stringify({ state: 'open', offsets, ...(rewind ? { rewind: offsets } : {}) } satisfies WriteFence);
    return Number(await this.redis.eval(REOPEN, 1, this.key, collection, mode, owner, open)) === 1;
  }

  async takeOverLapsed(collection: string, offsetsOf: (groupId: string) => Promise<Record<string, string>>): Promise<WriteFence | null> {
    const { fences, nowMs } = await this.list();
    const fence = fences.get(collection) ?? null;
    if (fence?.state !== 'closed' || !leaseLapsed(fence, nowMs)) return fence;
    // A closed fence from before leases has no group named; the rebuild group's name is derived
    // from the collection, so the caller's offsetsOf resolves it.
    const offsets = await offsetsOf(fence.lease?.groupId ?? '');
    await this.reopen(collection, offsets, 'lapsed', fence.lease?.owner ?? '');
    return this.get(collection);
  }

  async markCaught(collection: string, group: string, partition: number, rewind: string, next: string): Promise<void> {
    await this.redis.eval(UPDATE_REWIND, 1, this.key, collection, String(partition), rewind, next, group);
  }

  async clearRewind(collection: string, group: string, partition: number, rewind: string): Promise<void> {
    await this.redis.eval(UPDATE_REWIND, 1, this.key, collection, String(partition), rewind, '', group);
  }

  async remove(collection: string): Promise<void> {
    await this.redis.hdel(this.key, collection);
  }
}

function parseFence(raw: string): WriteFence {
  const fence = JSON.parse(raw) as WriteFence;
  // Lua's cjson writes an empty table as {} or [] alike.
  if (fence.state === 'open' && Array.isArray(fence.offsets)) return { ...fence, offsets: {} };
  return fence;
}

/** Whether `group` still owes the rewind of `partition` (its records past the rewind point may be in the previous collection only). */
export function rewindPending(fence: WriteFence | null, group: string, partition: number): string | undefined {
  if (fence?.state !== 'open') return undefined;
  const to = fence.rewind?.[String(partition)];
  return to !== undefined && !fence.rewound?.includes(`${group}/${partition}`) ? to : undefined;
}

/**
 * What a live encoder of `group` does with a batch of `partition` starting at `firstOffset` under
 * an open fence with a rewind pending for that group (null: nothing to do):
 * - `clear`: the batch starts right after the last one written from the rewind point, so that one
 *   was committed: the rewind is over;
 * - `replay`: the batch starts at or before the rewind point, or is the first one after this
 *   process sought there (`sought`; compaction may have removed the rewind offset itself): write
 *   it, then mark how far it got;
 * - `seek`: the partition is read past the rewind point: seek back to it.
 */
export function rewindAction(
  fence: WriteFence | null,
  group: string,
  partition: number,
  firstOffset: string,
  sought?: string,
): { seek: string } | { replay: string } | { clear: string } | null {
  const to = rewindPending(fence, group, partition);
  if (fence?.state !== 'open' || to === undefined) return null;
  if (fence.caught?.[`${group}/${partition}`] === firstOffset) return { clear: to };
  if (BigInt(firstOffset) <= BigInt(to) || sought === to) return { replay: to };
  return { seek: to };
}
