import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { SearchClient } from '../../../../producers/search-client/index.ts';
import { createTopology, UnavailableError } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

// The client's lifecycle against stand-in Kafka and Redis clients; its runs on real services are
// in test/integration (lifecycle, query-*).

function fakes(): { kafka: Kafka; redis: Redis; disconnects: { producer: number } } {
  const disconnects = { producer: 0 };
  const producer = Object.assign(new EventEmitter(), {
    events: { CONNECT: 'producer.connect', DISCONNECT: 'producer.disconnect' },
    connect: () => Promise.resolve(),
    disconnect: () => {
      disconnects.producer += 1;
      return Promise.resolve();
    },
  });
  // A connection that has ended: closing it has nothing to quit.
  const redis = Object.assign(new EventEmitter(), { status: 'end' });
  return { kafka: { producer: () => producer } as unknown as Kafka, redis: redis as unknown as Redis, disconnects };
}

describe('SearchClient lifecycle', () => {
  it('closes from idle; close() is idempotent, and the client refuses work afterwards', async () => {
    const { kafka, redis, disconnects } = fakes();
    const client = new SearchClient({ kafka, redis, topology: createTopology('unit') });
    assert.equal(client.state, 'idle');
    const first = client.close();
    assert.equal(client.state, 'closing');
    assert.equal(client.close(), first, "a second close() gets the first one's promise");
    await first;
    assert.equal(client.state, 'closed');
    await client.close();
    assert.equal(disconnects.producer, 1);
    await assert.rejects(client.connect(), errorOf(UnavailableError, 'client-closed'));
    await assert.rejects(client.search({ text: 'late' }), errorOf(UnavailableError, 'client-closed'));
  });
});
