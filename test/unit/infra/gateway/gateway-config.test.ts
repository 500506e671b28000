import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../../topology/index.ts';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

describe('gateway settings', () => {
  it('default to no authentication on loopback, so the local demo needs no set-up', () => {
    const { gateway } = loadConfig({});
    assert.deepEqual(gateway.auth, []);
    assert.equal(gateway.unauthenticatedOnPublicHost, false);
    assert.equal(gateway.ratePerSecond, 20);
    assert.equal(gateway.rateBurst, 40);
    assert.equal(gateway.maxBodyBytes, 65536);
    assert.equal(gateway.maxUrlBytes, 8192);
    assert.deepEqual(gateway.evalSetDirs, [], 'no eval set is read from the gateway disk unless folders are allowed');
    assert.equal(gateway.maxEvalSetBytes, 16 * 1024 * 1024);
  });

  it('read the folders eval sets may be read from, and the upload limit', () => {
    const { gateway } = loadConfig({
      SEARCHBUS_GATEWAY_EVAL_SET_DIRS: ' /srv/beir, /data/eval ,',
      SEARCHBUS_GATEWAY_MAX_EVAL_SET_BYTES: '2048',
    });
    assert.deepEqual(gateway.evalSetDirs, ['/srv/beir', '/data/eval']);
    assert.equal(gateway.maxEvalSetBytes, 2048);
  });

  it('refuse an open gateway on a non-loopback address unless none is set explicitly', () => {
    assert.throws(
      () => loadConfig({ SEARCHBUS_GATEWAY_HOST: '0.0.0.0' }),
      (e: unknown) => e instanceof ConfigError && e.setting === 'SEARCHBUS_GATEWAY_AUTH',
    );
    const explicit = loadConfig({ SEARCHBUS_GATEWAY_HOST: '0.0.0.0', SEARCHBUS_GATEWAY_AUTH: 'none' }).gateway;
    assert.equal(explicit.unauthenticatedOnPublicHost, true);
    assert.equal(loadConfig({ SEARCHBUS_GATEWAY_HOST: '127.0.0.5' }).gateway.auth.length, 0);
    assert.equal(loadConfig({ SEARCHBUS_GATEWAY_HOST: '::1' }).gateway.auth.length, 0);
  });

  it('read api-keys, jwt, or both', () => {
    const keys = loadConfig({
      SEARCHBUS_GATEWAY_AUTH: 'api-keys',
      SEARCHBUS_GATEWAY_KEYS_FILE: '/k.jsonl',
      SEARCHBUS_GATEWAY_HOST: '0.0.0.0',
    }).gateway;
    assert.deepEqual(keys.auth, ['api-keys']);
    assert.equal(keys.keysFile, '/k.jsonl');
    const both = loadConfig({
      SEARCHBUS_GATEWAY_AUTH: 'api-keys, JWT',
      SEARCHBUS_GATEWAY_KEYS_FILE: '/k.jsonl',
      SEARCHBUS_GATEWAY_JWT_SECRET: SECRET,
      SEARCHBUS_GATEWAY_JWT_TENANT_CLAIM: 'org.tenant',
    }).gateway;
    assert.deepEqual(both.auth, ['api-keys', 'jwt']);
    assert.deepEqual(both.jwt, { secret: SECRET, jwksUrl: null, jwksFile: null, issuer: null, audience: null, tenantClaim: 'org.tenant' });
    const jwks = loadConfig({
      SEARCHBUS_GATEWAY_AUTH: 'jwt',
      SEARCHBUS_GATEWAY_JWT_JWKS_URL: 'https://idp.example/.well-known/jwks.json',
      SEARCHBUS_GATEWAY_JWT_ISSUER: 'https://idp.example/',
      SEARCHBUS_GATEWAY_JWT_AUDIENCE: 'searchbus',
    }).gateway;
    assert.equal(jwks.jwt?.tenantClaim, 'tenant');
    assert.equal(loadConfig({ SEARCHBUS_GATEWAY_RATE_PER_SECOND: '0' }).gateway.ratePerSecond, 0);
  });

  it('fail naming the setting', () => {
    const jwt = { SEARCHBUS_GATEWAY_AUTH: 'jwt' };
    const cases: Array<[Record<string, string>, string]> = [
      [{ SEARCHBUS_GATEWAY_AUTH: 'basic' }, 'SEARCHBUS_GATEWAY_AUTH'],
      [{ SEARCHBUS_GATEWAY_AUTH: 'api-keys' }, 'SEARCHBUS_GATEWAY_KEYS_FILE'],
      [jwt, 'SEARCHBUS_GATEWAY_JWT_SECRET'],
      [{ ...jwt, SEARCHBUS_GATEWAY_JWT_SECRET: 'short' }, 'SEARCHBUS_GATEWAY_JWT_SECRET'],
      [{ ...jwt, SEARCHBUS_GATEWAY_JWT_SECRET: SECRET, SEARCHBUS_GATEWAY_JWT_JWKS_FILE: '/jwks.json' }, 'SEARCHBUS_GATEWAY_JWT_SECRET'],
      [
        {
          ...jwt,
          SEARCHBUS_GATEWAY_JWT_JWKS_URL: 'http://idp.example/jwks',
          SEARCHBUS_GATEWAY_JWT_ISSUER: 'i',
          SEARCHBUS_GATEWAY_JWT_AUDIENCE: 'a',
        },
        'SEARCHBUS_GATEWAY_JWT_JWKS_URL',
      ],
      [
        { ...jwt, SEARCHBUS_GATEWAY_JWT_JWKS_URL: 'not a url', SEARCHBUS_GATEWAY_JWT_ISSUER: 'i', SEARCHBUS_GATEWAY_JWT_AUDIENCE: 'a' },
        'SEARCHBUS_GATEWAY_JWT_JWKS_URL',
      ],
      [{ ...jwt, SEARCHBUS_GATEWAY_JWT_JWKS_FILE: '/jwks.json', SEARCHBUS_GATEWAY_JWT_AUDIENCE: 'a' }, 'SEARCHBUS_GATEWAY_JWT_ISSUER'],
      [{ ...jwt, SEARCHBUS_GATEWAY_JWT_JWKS_FILE: '/jwks.json', SEARCHBUS_GATEWAY_JWT_ISSUER: 'i' }, 'SEARCHBUS_GATEWAY_JWT_AUDIENCE'],
      [{ SEARCHBUS_GATEWAY_RATE_PER_SECOND: 'fast' }, 'SEARCHBUS_GATEWAY_RATE_PER_SECOND'],
      [{ SEARCHBUS_GATEWAY_RATE_BURST: '0' }, 'SEARCHBUS_GATEWAY_RATE_BURST'],
      [{ SEARCHBUS_GATEWAY_MAX_BODY_BYTES: '10' }, 'SEARCHBUS_GATEWAY_MAX_BODY_BYTES'],
      [{ SEARCHBUS_GATEWAY_MAX_URL_BYTES: '100000' }, 'SEARCHBUS_GATEWAY_MAX_URL_BYTES'],
      [{ SEARCHBUS_GATEWAY_EVAL_SET_DIRS: '/srv/beir,data' }, 'SEARCHBUS_GATEWAY_EVAL_SET_DIRS'],
      [{ SEARCHBUS_GATEWAY_MAX_EVAL_SET_BYTES: '100' }, 'SEARCHBUS_GATEWAY_MAX_EVAL_SET_BYTES'],
    ];
    for (const [env, setting] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && error.setting === setting && error.message.startsWith(setting),
        `${JSON.stringify(env)} should fail naming ${setting}`,
      );
    }
  });
});
