import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POINT_ID_NAMESPACE, pointId, uuidV5 } from '../../../topology/index.ts';

// Expected values computed with Python's uuid.uuid5, an independent implementation.
describe('pointId', () => {
  it('matches RFC 9562 UUIDv5 for the standard DNS namespace example', () => {
    assert.equal(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('is UUIDv5 of "<doc id>#<chunk>" in the searchbus namespace', () => {
    assert.equal(POINT_ID_NAMESPACE, '6f0b6a39-2f1e-4d53-9f6a-5a1c0e7d2b44');
    assert.equal(pointId('doc-1', 0), '10d28704-de60-5c2f-9566-b7826cbe6c77');
    assert.equal(pointId('doc-1', 1), 'cf8a2acb-8ecc-5e6f-adb1-6336c9498bca');
    assert.equal(pointId('é/ü', 12), '068f4543-fc71-5fa1-bfa8-d0eb7a83b121');
  });

  it('differs per chunk and per document', () => {
    const ids = new Set([pointId('a', 0), pointId('a', 1), pointId('b', 0), pointId('a#0', 0)]);
    assert.equal(ids.size, 4);
  });
});
