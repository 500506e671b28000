import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ApiKeyStore,
  appendKey,
  createApiKey,
  parseApiKey,
  parseKeysFile,
  readKeysFile,
  revokeKey,
} from '../../../../infra/gateway/index.ts';
import { ConfigError } from '../../../../topology/index.ts';

describe('gateway API keys', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sb-keys-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('creates a key whose id finds its entry and whose secret is stored only as a salted scrypt hash', async () => {
    const { key, entry } = await createApiKey({ tenants: ['acme', 'acme', 'beta'] });
    const parsed = parseApiKey(key);
    assert.ok(parsed);
    assert.equal(parsed.id, entry.id);
    assert.deepEqual(entry.tenants, ['acme', 'beta']);
    assert.match(entry.hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.ok(!JSON.stringify(entry).includes(parsed.secret), 'the secret never reaches the entry');
    const again = await createApiKey({ tenants: ['acme'] });
    assert.notEqual(again.entry.hash.split('$')[4], entry.hash.split('$')[4], 'every key has its own salt');
  });

  it('verifies the right key, refuses a wrong secret, an unknown id and malformed keys', async () => {
    const { key, entry } = await createApiKey({ tenants: ['acme'] });
    const other = await createApiKey({ tenants: ['beta'] });
    const store = new ApiKeyStore([entry, other.entry]);
    assert.equal((await store.verify(key))?.id, entry.id);
    assert.equal((await store.verify(key))?.id, entry.id, 'second check (remembered digest)');
    assert.equal((await store.verify(other.key))?.tenants[0], 'beta');
    const wrongSecret = `sbk_${entry.id}_${'A'.repeat(43)}`;
    assert.equal(await store.verify(wrongSecret), null);
    // The secret of one key under the id of another.
    assert.equal(await store.verify(`sbk_${entry.id}_${parseApiKey(other.key)!.secret}`), null);
    assert.equal(await store.verify(`sbk_${'0'.repeat(16)}_${parseApiKey(key)!.secret}`), null);
    for (const bad of ['', 'sbk_', key.slice(0, -1), `${key}x`, key.toUpperCase(), ` ${key}`])
      assert.equal(await store.verify(bad), null, bad);
  });

  it('stops accepting a key once it is removed or its hash changes', async () => {
    const a = await createApiKey({ tenants: ['acme'] });
    const b = await createApiKey({ tenants: ['beta'] });
    const store = new ApiKeyStore([a.entry, b.entry]);
    assert.ok(await store.verify(a.key));
    store.replace([b.entry]);
    assert.equal(await store.verify(a.key), null, 'revoked');
    const reissued = await createApiKey({ tenants: ['acme'] });
    store.replace([{ ...a.entry, hash: reissued.entry.hash }, b.entry]);
    assert.equal(await store.verify(a.key), null, 'the remembered digest does not outlive a changed hash');
    assert.ok(await store.verify(b.key));
  });

  it('appends to, lists and revokes from a keys file written with mode 0600', async () => {
    const file = join(dir, 'keys.jsonl');
    const a = await createApiKey({ tenants: ['acme'], rateLimit: { perSecond: 5, burst: 10 }, label: 'ci' });
    const b = await createApiKey({ tenants: ['beta'], scopes: ['admin'] });
    assert.deepEqual(b.entry.scopes, ['admin']);
    assert.equal(a.entry.scopes, undefined, 'a key without scopes searches only');
    await appendKey(file, a.entry, 'KEYS');
    await appendKey(file, b.entry, 'KEYS');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(parseApiKey(a.key)!.secret) && !text.includes(parseApiKey(b.key)!.secret));
    assert.deepEqual(await readKeysFile(file, 'KEYS'), [a.entry, b.entry]);
    assert.equal(await revokeKey(file, a.entry.id, 'KEYS'), true);
    assert.equal(await revokeKey(file, a.entry.id, 'KEYS'), false);
    assert.deepEqual(await readKeysFile(file, 'KEYS'), [b.entry]);
  });

  it('refuses a keys file that is broken, naming the setting and the line', async () => {
    const { entry } = await createApiKey({ tenants: ['acme'] });
    const good = JSON.stringify(entry);
    const cases: Array<[string, RegExp]> = [
      [`${good}\n{not json`, /line 2: not JSON/],
      [`${good}\n${good}`, /line 2: key id .* appears twice/],
      [JSON.stringify({ ...entry, id: 'short' }), /line 1: id must be 16 hex digits/],
      [JSON.stringify({ ...entry, hash: 'sha256$abc' }), /hash must be/],
      [JSON.stringify({ ...entry, hash: 'scrypt$1000$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA' }), /hash must be/],
      [JSON.stringify({ ...entry, tenants: [] }), /tenants must be a non-empty array/],
      [JSON.stringify({ ...entry, tenants: ['a b'] }), /tenant "a b" must match/],
      [JSON.stringify({ ...entry, rateLimit: { perSecond: 0, burst: 1 } }), /rateLimit must be/],
      [JSON.stringify({ ...entry, scopes: ['root'] }), /scopes must be an array of "admin"/],
      [JSON.stringify({ ...entry, scopes: 'admin' }), /scopes must be an array/],
      ['[]', /must be a JSON object/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseKeysFile(text, 'keys.jsonl', 'SEARCHBUS_GATEWAY_KEYS_FILE'),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.code, 'invalid-keys-file');
          assert.equal(error.setting, 'SEARCHBUS_GATEWAY_KEYS_FILE');
          assert.match(error.message, /^SEARCHBUS_GATEWAY_KEYS_FILE: keys\.jsonl /);
          assert.match(error.message, message);
          return true;
        },
      );
    }
    assert.deepEqual(parseKeysFile(`# comment\n\n${good}\n`, 'f', 'S'), [entry]);
    await writeFile(join(dir, 'broken.jsonl'), '{');
    await assert.rejects(readKeysFile(join(dir, 'missing.jsonl'), 'S'), /S: the keys file .* does not exist/);
    await assert.rejects(readKeysFile(join(dir, 'broken.jsonl'), 'S'), /line 1: not JSON/);
  });
});
