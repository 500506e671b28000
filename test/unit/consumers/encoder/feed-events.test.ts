import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { feedEvents } from '../../../../consumers/encoder/index.ts';
import { ContractError, decodeIndexedEvent, decodePosition, type IngestMessage } from '../../../../topology/index.ts';

const TOPIC = 'feed-test.documents';
const lava: IngestMessage = { kind: 'upsert', tenant: 'acme', id: 'lava', document: { schemaVersion: 1, id: 'lava', text: 'Lava flows' } };
const gone: IngestMessage = { kind: 'delete', tenant: 'acme', id: 'old' };
const sources = [
  { value: lava, partition: 2, offset: '41' },
  { value: gone, partition: 0, offset: '7' },
];
const applied = [
  { message: lava, op: 'indexed' as const, modality: 'text' as const, chunks: 3 },
  { message: gone, op: 'deleted' as const, modality: null, chunks: 0 },
];
const at = { topic: TOPIC, collection: 'feed-test-documents__m__v1', modelId: 'm', now: new Date('2026-01-02T03:04:05Z') };

describe('index change feed events', () => {
  it('one event per applied document, keyed <tenant>/<id>, with its source record as position', () => {
    const messages = feedEvents(applied, sources, { ...at, modality: 'text' });
    assert.deepEqual(
      messages.map((m) => m.key),
      ['acme/lava', 'acme/old'],
    );
    const event = decodeIndexedEvent(Buffer.from(String(messages[0]!.value)));
    assert.deepEqual(event, {
      schemaVersion: 1,
      op: 'indexed',
      tenant: 'acme',
      id: 'lava',
      partition: 2,
      offset: '41',
      position: event.position,
      modality: 'text',
      chunks: 3,
      collection: at.collection,
      model: 'm',
      indexedAt: '2026-01-02T03:04:05.000Z',
    });
    assert.deepEqual([...decodePosition(event.position).offsets], [[2, 41n]]);
    assert.equal(decodePosition(event.position).topic, TOPIC);
  });

  it('the media group leaves deletes to the text group: a delete is announced once', () => {
    const messages = feedEvents(applied, sources, { ...at, modality: 'media' });
    assert.deepEqual(
      messages.map((m) => m.key),
      ['acme/lava'],
    );
  });

  it('a document the batch did not apply (superseded by the other group) has no event', () => {
    assert.equal(feedEvents([], sources, { ...at, modality: 'text' }).length, 0);
  });

  it('an event off the contract is refused with invalid-indexed-event', () => {
    const good = JSON.parse(String(feedEvents(applied, sources, { ...at, modality: 'all' })[0]!.value)) as Record<string, unknown>;
    for (const bad of [
      null,
      Buffer.from('{'),
      Buffer.from('[]'),
      { ...good, extra: 1 },
      { ...good, op: 'upsert' },
      { ...good, offset: 41 },
      { ...good, tenant: 'a/b' },
    ]) {
      const bytes = bad === null || Buffer.isBuffer(bad) ? bad : Buffer.from(JSON.stringify(bad));
      assert.throws(
        () => decodeIndexedEvent(bytes),
        (error: unknown) => error instanceof ContractError && error.code === 'invalid-indexed-event',
      );
    }
  });
});
