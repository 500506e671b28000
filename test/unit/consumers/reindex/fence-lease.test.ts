import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseKeeper, renewIntervalMs, writeMarginMs } from '../../../../consumers/reindex/fence-lease.ts';

describe('lease timings', () => {
  it('renews three times per lease and writes only with more than half a lease left', () => {
    assert.equal(renewIntervalMs(30_000), 10_000);
    assert.equal(writeMarginMs(30_000), 15_000);
    assert.ok(renewIntervalMs(1) >= 1);
  });
});

describe('LeaseKeeper', () => {
  it('renews until the fence is no longer held, then reports the lease lost', async () => {
    const calls: Array<[string, string, number]> = [];
    let held = 3;
    let settle: () => void = () => undefined;
    const lostSeen = new Promise<void>((resolve) => (settle = resolve));
    const keeper = new LeaseKeeper(
      {
        renew: (collection, owner, leaseMs) => {
          calls.push([collection, owner, leaseMs]);
          held -= 1;
          if (held < 0) settle();
          return Promise.resolve(held >= 0);
        },
      },
      'c',
      'tok',
      30,
      (error) => assert.fail(String(error)),
    );
    keeper.start();
    await lostSeen;
    await keeper.close();
    assert.equal(keeper.lost, true);
    assert.ok(calls.length >= 4);
    assert.deepEqual(calls[0], ['c', 'tok', 30]);
  });

  it('reports renewal errors without losing the lease, and closes cleanly', async () => {
    const errors: unknown[] = [];
    let settle: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => (settle = resolve));
    const keeper = new LeaseKeeper({ renew: () => Promise.reject(new Error('redis down')) }, 'c', 'tok', 30, (error) => {
      errors.push(error);
      settle();
    });
    keeper.start();
    await failed;
    await keeper.close();
    await keeper.close();
    assert.equal(keeper.lost, false);
    assert.match(String(errors[0]), /redis down/);
  });

  it('closes for good: a second close() gets the same promise, and start() afterwards renews nothing', async () => {
    let renewals = 0;
    const renew = (): Promise<boolean> => {
      renewals += 1;
      return Promise.resolve(true);
    };
    const keeper = new LeaseKeeper({ renew }, 'c', 'tok', 3, () => undefined);
    const first = keeper.close();
    assert.equal(keeper.close(), first);
    await first;
    keeper.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(renewals, 0);
  });
});
