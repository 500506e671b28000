import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unacknowledged } from '../../../../producers/ingest/unacknowledged.ts';

describe('unacknowledged', () => {
  const messages = [
    { key: 'a', partition: 0 },
    { key: 'b', partition: 1 },
    { key: 'c', partition: 2 },
    { key: 'd', partition: 1 },
  ];
  const partitionOf = (m: { partition: number }): number => m.partition;

  it('is empty when every partition that got messages answered', () => {
    const acks = [0, 1, 2].map((partition) => ({ partition, errorCode: 0 }));
    assert.deepEqual(unacknowledged(messages, partitionOf, acks), []);
  });

  it('returns the messages of a partition missing from the answer, in order', () => {
    // A leader died and the retry skipped the broker that took over: partition 1 has no answer.
    const acks = [
      { partition: 0, errorCode: 0 },
      { partition: 2, errorCode: 0 },
    ];
    assert.deepEqual(
      unacknowledged(messages, partitionOf, acks).map((m) => m.key),
      ['b', 'd'],
    );
  });

  it('treats a partition that answered with an error as unacknowledged', () => {
    const acks = [
      { partition: 0, errorCode: 0 },
      { partition: 1, errorCode: 0 },
      { partition: 2, errorCode: 6 },
    ];
    assert.deepEqual(
      unacknowledged(messages, partitionOf, acks).map((m) => m.key),
      ['c'],
    );
  });

  it('sends again a message whose partition was not recorded', () => {
    const acks = [0, 1, 2].map((partition) => ({ partition, errorCode: 0 }));
    assert.deepEqual(
      unacknowledged([{ key: 'x' }], () => undefined, acks),
      [{ key: 'x' }],
    );
  });
});
