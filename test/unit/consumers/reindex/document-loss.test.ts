import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeLoss,
  documentsLost,
  recordUnwritten,
  unwrittenDocument,
  type UnwrittenDocument,
} from '../../../../consumers/reindex/document-loss.ts';
import type { DeadLetter } from '../../../../consumers/runtime/index.ts';
import { pointId } from '../../../../topology/index.ts';

const letter = (key: string | null, offset: string, code = 'media-unreachable'): DeadLetter => ({
  message: { key: key === null ? null : Buffer.from(key), value: null, offset, timestamp: '0', attributes: 0, headers: {} },
  topic: 'ns.ingest',
  partition: 2,
  code,
  reason: `cannot read file:///photos/${offset}.jpg: ENOENT`,
});

const doc = (id: string, tenant = 'default'): UnwrittenDocument => ({
  tenant,
  id,
  code: 'media-unreachable',
  reason: 'gone',
  partition: 0,
  offset: '1',
});

describe('unwrittenDocument', () => {
  it('reads the document identity, reason and position of a dead letter', () => {
    assert.deepEqual(unwrittenDocument(letter('acme/photos/a.jpg', '7')), {
      tenant: 'acme',
      id: 'photos/a.jpg',
      code: 'media-unreachable',
      reason: 'cannot read file:///photos/7.jpg: ENOENT',
      partition: 2,
      offset: '7',
    });
  });

  it('is null for a record whose key names no document (no index can serve it)', () => {
    assert.equal(unwrittenDocument(letter(null, '1')), null);
    assert.equal(unwrittenDocument(letter('bare-id', '1')), null);
  });
});

describe('recordUnwritten', () => {
  it('keeps each document once, with its latest letter', () => {
    let record = recordUnwritten(undefined, doc('a'));
    record = recordUnwritten(record, { ...doc('a'), offset: '9', code: 'media-undecodable' });
    record = recordUnwritten(record, doc('a', 'other'));
    assert.deepEqual(
      record.documents.map((d) => [d.tenant, d.id, d.offset, d.code]),
      [
        ['default', 'a', '9', 'media-undecodable'],
        ['other', 'a', '1', 'media-unreachable'],
      ],
    );
    assert.equal(record.overflow, 0);
  });

  it('counts what does not fit instead of growing the job without bound', () => {
    let record = recordUnwritten(undefined, doc('a'), 2);
    record = recordUnwritten(record, doc('b'), 2);
    record = recordUnwritten(record, doc('c'), 2);
    record = recordUnwritten(record, doc('d'), 2);
    assert.deepEqual(
      record.documents.map((d) => d.id),
      ['a', 'b'],
    );
    assert.equal(record.overflow, 2);
  });
});

describe('documentsLost', () => {
  // Which point ids each collection holds (the first point of a document is chunk 0).
  const qdrant = (held: Record<string, string[]>) => ({
    retrieve: (collection: string, request: { ids: Array<string | number> }) =>
      Promise.resolve(request.ids.filter((id) => (held[collection] ?? []).includes(String(id))).map((id) => ({ id, version: 0 }))),
  });
  const first = (d: UnwrittenDocument): string => pointId(d.tenant, d.id, 0);

  it('is what the live collection serves and the target lacks', async () => {
    const [gone, alsoPoisonLive, rewritten, otherTenant] = [
      doc('gone.jpg'),
      doc('never.jpg'),
      doc('later-ok.jpg'),
      doc('gone.jpg', 'acme'),
    ];
    const client = qdrant({ live: [first(gone), first(rewritten)], target: [first(rewritten), first(otherTenant)] });
    const lost = await documentsLost(client, 'live', 'target', [gone, alsoPoisonLive, rewritten, otherTenant]);
    assert.deepEqual(lost, [gone]);
  });

  it('asks nothing when nothing was dead-lettered', async () => {
    const client = { retrieve: () => Promise.reject(new Error('not called')) };
    assert.deepEqual(await documentsLost(client as never, 'live', 'target', []), []);
  });
});

describe('describeLoss', () => {
  it('names the documents, the reasons and what to do, within bounds', () => {
    const lost = Array.from({ length: 12 }, (_, i) => doc(`p${i}.jpg`));
    const text = describeLoss(lost, 'sb__m__v1', 'sb__m__v2');
    assert.match(text, /sb__m__v2 lacks 12 document\(s\) that sb__m__v1 serves/);
    assert.match(text, /default\/p0\.jpg \(media-unreachable: gone\)/);
    assert.match(text, /and 2 more/);
    assert.doesNotMatch(text, /p11\.jpg/);
    assert.match(text, /rebuild again/);
  });
});
