import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planKeyMigration } from '../../../../producers/ingest/index.ts';

const doc = (fields: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 1, text: 'body', ...fields }));

describe('planKeyMigration', () => {
  it('re-keys bare-id documents to <tenant>/<id>, value unchanged, and retires their bare keys', () => {
    const a = doc({ id: 'report-1', tenant: 'a' });
    const plain = doc({ id: 'report-2' });
    const plan = planKeyMigration(
      new Map([
        ['report-1', a],
        ['report-2', plain],
      ]),
    );
    assert.deepEqual(plan.republish, [
      { from: 'report-1', key: 'a/report-1', value: a },
      { from: 'report-2', key: 'default/report-2', value: plain },
    ]);
    assert.deepEqual(plan.retire, ['report-1', 'report-2']);
    assert.deepEqual([plan.keys, plan.current, plan.tombstones, plan.invalid.length, plan.superseded.length], [2, 0, 0, 0, 0]);
  });

  it('leaves current records, tombstones and records that were never valid alone', () => {
    const plan = planKeyMigration(
      new Map<string, Buffer | null>([
        ['a/report-1', doc({ id: 'report-1', tenant: 'a' })],
        ['default/x', doc({ id: 'x' })],
        ['gone', null],
        ['k', doc({ id: 'other' })],
        ['bad', Buffer.from('{not json')],
        ['empty', doc({ id: 'empty', text: '' })],
      ]),
    );
    assert.equal(plan.current, 2);
    assert.equal(plan.tombstones, 1);
    assert.deepEqual(plan.invalid, [
      { key: 'k', code: 'key-mismatch' },
      { key: 'bad', code: 'invalid-json' },
      { key: 'empty', code: 'empty-text' },
    ]);
    assert.deepEqual([plan.republish, plan.retire], [[], []]);
  });

  it('never overwrites a document already published under its new key, but still retires the bare key', () => {
    const newer = doc({ id: 'r', tenant: 'a', title: 'newer' });
    const plan = planKeyMigration(
      new Map([
        ['r', doc({ id: 'r', tenant: 'a', title: 'older' })],
        ['a/r', newer],
      ]),
    );
    assert.deepEqual(plan.republish, []);
    assert.deepEqual(plan.superseded, ['r']);
    assert.deepEqual(plan.retire, ['r']);
    assert.equal(plan.current, 1);
  });

  it('never tombstones a bare key that is also a new key, so no retiring tombstone deletes a re-keyed document', () => {
    // Bare id "a/b" (default tenant) and bare id "b" of tenant "a": the latter's new key is "a/b".
    const slashId = doc({ id: 'a/b' });
    const tenantA = doc({ id: 'b', tenant: 'a' });
    const plan = planKeyMigration(
      new Map([
        ['a/b', slashId],
        ['b', tenantA],
      ]),
    );
    assert.deepEqual(
      plan.republish.map((r) => [r.from, r.key]),
      [
        ['a/b', 'default/a/b'],
        ['b', 'a/b'],
      ],
    );
    assert.deepEqual(plan.retire, ['b'], '"a/b" now holds tenant a\'s document b: its re-published record supersedes the bare one');
  });

  it('re-keys even when the new key holds a bare-id record of another document', () => {
    // Bare id "default/x" and bare id "x" of the default tenant, whose new key is "default/x".
    const plan = planKeyMigration(
      new Map([
        ['default/x', doc({ id: 'default/x' })],
        ['x', doc({ id: 'x' })],
      ]),
    );
    assert.deepEqual(plan.republish.map((r) => r.key).sort(), ['default/default/x', 'default/x']);
    assert.deepEqual(plan.superseded, []);
  });

  it('finds nothing to do once migrated', () => {
    const plan = planKeyMigration(
      new Map<string, Buffer | null>([
        ['r', null],
        ['a/r', doc({ id: 'r', tenant: 'a' })],
      ]),
    );
    assert.deepEqual([plan.republish.length, plan.retire.length, plan.current, plan.tombstones], [0, 0, 1, 1]);
  });
});
