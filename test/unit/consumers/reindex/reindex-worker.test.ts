import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { MediaEncoder } from '../../../../consumers/embedding/index.ts';
import { ReindexWorker } from '../../../../consumers/reindex/index.ts';
import { ContractError, createTopology, loadConfig } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

// The worker's lifecycle without its services: nothing is reached before start(). Its runs on
// real services are in test/integration/reindex*.test.ts and lifecycle.test.ts.

function idleWorker(): { worker: ReindexWorker; opened: string[] } {
  const opened: string[] = [];
  const refuse = (what: string) => (): never => {
    opened.push(what);
    throw new Error(`${what} must not be opened`);
  };
  const worker = new ReindexWorker({
    connection: {},
    redis: {} as Redis,
    kafka: { admin: refuse('a Kafka admin') } as unknown as Kafka,
    qdrant: {} as QdrantClient,
    topology: createTopology('unit'),
    config: loadConfig({ SEARCHBUS_NAMESPACE: 'unit' }),
    encoder: refuse('an encoder'),
    media: {} as MediaEncoder,
  });
  return { worker, opened };
}

describe('ReindexWorker lifecycle', () => {
  it('closes from idle without opening anything; close() is idempotent and final', async () => {
    const { worker, opened } = idleWorker();
    assert.equal(worker.state, 'idle');
    const first = worker.close();
    assert.equal(worker.state, 'closing');
    assert.equal(worker.close(), first, "a second close() gets the first one's promise");
    await first;
    assert.equal(worker.state, 'closed');
    await worker.close();
    assert.deepEqual(opened, []);
    await assert.rejects(worker.start(), errorOf(ContractError, 'invalid-lifecycle-state'));
  });
});
