import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLine } from '../../../../producers/ingest/index.ts';

describe('parseLine', () => {
  it('accepts BEIR lines with _id and drops empty metadata', () => {
    const record = parseLine('{"_id": "4983", "title": "T", "text": "body", "metadata": {}}', 1);
    assert.deepEqual(record, { line: 1, document: { id: '4983', title: 'T', text: 'body' } });
  });

  it('applies the tenant option', () => {
    const record = parseLine('{"id": "a", "text": "x", "tenant": "other"}', 2, 'acme');
    assert.ok('document' in record);
    assert.equal(record.document.tenant, 'acme');
  });

  it('reports bad lines with their number and code', () => {
    const bad = parseLine('{oops', 7);
    assert.ok('error' in bad);
    assert.equal(bad.error.code, 'invalid-json');
    assert.match(bad.error.message, /^line 7:/);
    const empty = parseLine('{"id": "a"}', 8);
    assert.ok('error' in empty && empty.error.code === 'empty-text');
  });
});
