import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { reportRedisErrors } from '../../../../topology/connections/redis-errors.ts';

describe('reportRedisErrors', () => {
  it('reports one line per outage and one when connected again', () => {
    const fake = new EventEmitter();
    const lines: string[] = [];
    reportRedisErrors(fake as unknown as Redis, 'query', (line) => lines.push(line));
    for (let i = 0; i < 5; i++) fake.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    fake.emit('ready');
    fake.emit('ready');
    fake.emit('error', new Error('read ECONNRESET'));
    assert.deepEqual(lines, [
      '[redis] query: connect ECONNREFUSED 127.0.0.1:6379; reconnecting\n',
      '[redis] query: connected again\n',
      '[redis] query: read ECONNRESET; reconnecting\n',
    ]);
  });
});
