import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { GroupMemberRegistry } from '../../../../consumers/runtime/group-member-registry.ts';

/** The hash commands the registry uses, over a Map: its rules are what is tested, not Redis. */
function fakeRedis(): { redis: Redis; hash: Map<string, string> } {
  const hash = new Map<string, string>();
  const redis = {
    status: 'ready',
    hgetall: () => Promise.resolve(Object.fromEntries(hash)),
    hdel: (_key: string, ...fields: string[]) => Promise.resolve(fields.filter((f) => hash.delete(f)).length),
    multi: () => {
      const chain = {
        hset: (_key: string, field: string, value: string) => (hash.set(field, value), chain),
        pexpire: () => chain,
        exec: () => Promise.resolve([]),
      };
      return chain;
    },
  };
  return { redis: redis as unknown as Redis, hash };
}

const entry = (host: string, pid: number, aliveAt: number): string => JSON.stringify({ host, pid, aliveAt });

describe('GroupMemberRegistry', () => {
  it('takes a member of this host for dead when its process is gone or its pid is ours, never a live sibling', async () => {
    const { redis, hash } = fakeRedis();
    hash.set('gone', entry('h1', 101, 0));
    hash.set('sibling', entry('h1', 102, 0)); // stale stamp, but its process runs: a stalled event loop
    hash.set('predecessor-with-my-pid', entry('h1', 7, 0));
    hash.set('garbled', 'not json');
    const registry = new GroupMemberRegistry({
      redis,
      key: 'k',
      pid: 7,
      host: 'h1',
      now: () => 60_000,
      isProcessAlive: (pid) => pid === 102,
    });
    assert.deepEqual((await registry.deadMembers()).sort(), ['garbled', 'gone', 'predecessor-with-my-pid']);
  });

  it('takes a member of another host for dead only once it stopped refreshing for 10 s', async () => {
    const { redis, hash } = fakeRedis();
    hash.set('fresh', entry('h2', 5, 55_000));
    hash.set('stale', entry('h2', 6, 49_999));
    const registry = new GroupMemberRegistry({ redis, key: 'k', pid: 7, host: 'h1', now: () => 60_000, isProcessAlive: () => true });
    assert.deepEqual(await registry.deadMembers(), ['stale']);
  });

  it('records itself on join, replaces its entry when its member id changes, and removes it on close', async () => {
    const { redis, hash } = fakeRedis();
    const registry = new GroupMemberRegistry({ redis, key: 'k', pid: 7, host: 'h1', now: () => 1 });
    registry.joined('m1');
    await Promise.resolve();
    assert.deepEqual([...hash.keys()], ['m1']);
    assert.deepEqual(await registry.deadMembers(), [], 'never itself, though its pid is its own');
    registry.joined('m2');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual([...hash.keys()], ['m2']);
    await registry.close();
    await registry.close();
    assert.equal(hash.size, 0);
  });

  it('never takes another consumer of this process for dead, though it shares the pid', async () => {
    const { redis } = fakeRedis();
    const first = new GroupMemberRegistry({ redis, key: 'k', pid: 7, host: 'h1', now: () => 1 });
    const second = new GroupMemberRegistry({ redis, key: 'k', pid: 7, host: 'h1', now: () => 1 });
    first.joined('a');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await second.deadMembers(), []);
    await first.close();
  });
});
