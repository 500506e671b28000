import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POINT_ID_NAMESPACE, ContractError, pointId, uuidV5 } from '../../../topology/index.ts';

// Expected values computed with Python's uuid.uuid5, an independent implementation.
describe('pointId', () => {
  it('matches RFC 9562 UUIDv5 for the standard DNS namespace example', () => {
    assert.equal(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('is UUIDv5 of "<tenant>/<doc id>#<chunk>" in the searchbus namespace', () => {
    assert.equal(POINT_ID_NAMESPACE, 'bb885359-0681-4db4-87b3-25cd63046164');
    assert.equal(pointId('default', 'doc-1', 0), '22ff5353-8cff-526d-9d8f-fc3cbc39db31');
    assert.equal(pointId('default', 'doc-1', 1), '988e8fbf-214d-5959-974c-e4f22e5b3456');
    assert.equal(pointId('acme', 'é/ü', 12), 'e09fa22c-7ac2-5d7d-8098-a9d8fb631369');
  });

  it('gives the same id in two tenants two different points', () => {
    assert.equal(pointId('a', 'report-1', 0), '6a22ac9b-7d85-5acc-b0ce-fcf6cb419bf4');
    assert.equal(pointId('b', 'report-1', 0), '0e1b8071-4d61-5538-a83c-11973a251738');
  });

  it('differs per chunk, per document and per tenant, even where separators could be confused', () => {
    const ids = [
      pointId('a', 'x', 0),
      pointId('a', 'x', 1),
      pointId('a', 'y', 0),
      pointId('b', 'x', 0),
      pointId('a', 'x#1', 0), // "a/x#1#0", not "a/x#1"
      pointId('a', 'x#0', 1),
      pointId('a', 'b/x', 0), // "a/b/x#0": the tenant ends at the first "/"
      pointId('a.b', 'x', 0),
      pointId('a', '1', 10),
      pointId('a', '11', 0),
    ];
    assert.equal(new Set(ids).size, ids.length);
  });

  it('refuses what is not an identity', () => {
    assert.throws(
      () => pointId('a/b', 'x', 0),
      (e: unknown) => e instanceof ContractError && e.code === 'invalid-key',
    );
    assert.throws(() => pointId('', 'x', 0), ContractError);
    assert.throws(() => pointId('a', '', 0), ContractError);
    assert.throws(() => pointId('a', 'x', -1), TypeError);
    assert.throws(() => pointId('a', 'x', 1.5), TypeError);
  });
});
