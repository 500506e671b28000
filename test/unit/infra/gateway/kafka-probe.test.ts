import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { KafkaProbe } from '../../../../infra/gateway/index.ts';

// A stand-in admin whose describeCluster answers, fails or never settles, as the test says.
function fakeAdmin(): { admin: Admin; mode: 'ok' | 'fail' | 'hang'; calls: number; disconnects: number } {
  const state = { mode: 'ok' as 'ok' | 'fail' | 'hang', calls: 0, disconnects: 0, admin: undefined as unknown as Admin };
  state.admin = {
    connect: () => Promise.resolve(),
    disconnect: () => {
      state.disconnects += 1;
      return Promise.resolve();
    },
    describeCluster: () => {
      state.calls += 1;
      if (state.mode === 'ok') return Promise.resolve({ brokers: [], controller: null, clusterId: 'c' });
      if (state.mode === 'fail') return Promise.reject(new Error('broker down'));
      return new Promise(() => undefined);
    },
  } as unknown as Admin;
  return state;
}

describe('gateway Kafka readiness probe', () => {
  it('is ready after an answer, not after a failure, and not once the last answer is stale', async () => {
    let now = 0;
    const fake = fakeAdmin();
    const probe = new KafkaProbe(fake.admin, { intervalMs: 60_000, staleMs: 1_000 }, () => now);
    await probe.start();
    assert.equal(probe.isReady(), true);
    now = 999;
    assert.equal(probe.isReady(), true);
    now = 1_001;
    assert.equal(probe.isReady(), false, 'stale: a probe stuck in retries must not keep it ready');
    fake.mode = 'fail';
    await (probe as unknown as { probe(): Promise<void> }).probe();
    assert.equal(probe.isReady(), false);
    fake.mode = 'ok';
    await (probe as unknown as { probe(): Promise<void> }).probe();
    assert.equal(probe.isReady(), true);
    await probe.close();
  });

  it('runs one probe at a time and stops without waiting for one that hangs', async () => {
    const fake = fakeAdmin();
    fake.mode = 'hang';
    const probe = new KafkaProbe(fake.admin, { intervalMs: 60_000, staleMs: 1_000 });
    void probe.start();
    const again = (probe as unknown as { probe(): Promise<void> }).probe();
    void again;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fake.calls, 1);
    assert.equal(probe.isReady(), false);
    await probe.close();
  });

  it('closes once: a second close() gets the same promise, and no probe runs afterwards', async () => {
    const fake = fakeAdmin();
    const probe = new KafkaProbe(fake.admin, { intervalMs: 60_000, staleMs: 1_000 });
    await probe.start();
    const first = probe.close();
    assert.equal(probe.close(), first);
    await first;
    assert.equal(fake.disconnects, 1);
    const calls = fake.calls;
    await (probe as unknown as { probe(): Promise<void> }).probe();
    assert.equal(fake.calls, calls);
  });
});
