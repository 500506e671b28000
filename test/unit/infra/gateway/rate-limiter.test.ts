import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../../../infra/gateway/index.ts';

describe('gateway rate limiter (token bucket)', () => {
  it('allows a burst, then refuses with Retry-After until tokens refill at the rate', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const limit = { perSecond: 2, burst: 3 };
    for (let i = 0; i < 3; i++) assert.deepEqual(limiter.take('k', limit), { allowed: true });
    assert.deepEqual(limiter.take('k', limit), { allowed: false, retryAfterSeconds: 1 });
    now += 499;
    assert.equal(limiter.take('k', limit).allowed, false, 'not quite one token yet');
    now += 2;
    assert.equal(limiter.take('k', limit).allowed, true, 'one token after 500 ms at 2/s');
    assert.equal(limiter.take('k', limit).allowed, false);
    now += 60_000;
    for (let i = 0; i < 3; i++) assert.equal(limiter.take('k', limit).allowed, true, 'refills only up to the burst');
    assert.equal(limiter.take('k', limit).allowed, false);
  });

  it('keeps one bucket per credential', () => {
    const limiter = new RateLimiter(() => 0);
    const limit = { perSecond: 1, burst: 1 };
    assert.equal(limiter.take('a', limit).allowed, true);
    assert.equal(limiter.take('a', limit).allowed, false);
    assert.equal(limiter.take('b', limit).allowed, true, "a's exhaustion does not touch b");
  });

  it('rounds Retry-After up to whole seconds for slow rates', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const limit = { perSecond: 0.1, burst: 1 };
    assert.equal(limiter.take('k', limit).allowed, true);
    assert.deepEqual(limiter.take('k', limit), { allowed: false, retryAfterSeconds: 10 });
    now += 9_000;
    assert.deepEqual(limiter.take('k', limit), { allowed: false, retryAfterSeconds: 1 });
  });

  it('drops idle, full buckets once many exist, bounding memory', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const limit = { perSecond: 10, burst: 1 };
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`, limit);
    assert.equal(limiter.size, 10_000);
    now += 1_000;
    limiter.take('new', limit);
    assert.equal(limiter.size, 1);
  });
});
