import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, createLocalJWKSet } from 'jose';
import {
  ApiKeyStore,
  chooseTenant,
  claimScopes,
  claimTenants,
  createApiKey,
  credentialAuthenticator,
  presentedCredential,
  type Principal,
} from '../../../../infra/gateway/index.ts';

const SECRET = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!');

function jwt(
  claims: Record<string, unknown>,
  options: { expiresIn?: string | number; issuer?: string; audience?: string; key?: Uint8Array } = {},
): Promise<string> {
  let token = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setSubject('user-1');
  token = token.setExpirationTime(options.expiresIn ?? '5m');
  if (options.issuer) token = token.setIssuer(options.issuer);
  if (options.audience) token = token.setAudience(options.audience);
  return token.sign(options.key ?? SECRET);
}

describe('gateway credentials', () => {
  it('reads Bearer or X-Api-Key, and refuses both at once or a malformed header', () => {
    assert.deepEqual(presentedCredential({}), { ok: true, credential: null, from: null });
    assert.deepEqual(presentedCredential({ authorization: 'Bearer abc' }), { ok: true, credential: 'abc', from: 'authorization' });
    assert.deepEqual(presentedCredential({ authorization: 'bearer  abc ' }), { ok: true, credential: 'abc', from: 'authorization' });
    assert.deepEqual(presentedCredential({ 'x-api-key': 'abc' }), { ok: true, credential: 'abc', from: 'x-api-key' });
    for (const headers of [
      { authorization: 'Basic dTpw' },
      { authorization: 'Bearer a b' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer x', 'x-api-key': 'y' },
      { 'x-api-key': 'a, b' },
      { 'x-api-key': ' ' },
    ]) {
      assert.equal(presentedCredential(headers).ok, false, JSON.stringify(headers));
    }
  });

  it('takes tenants from a claim: a string, an array, or a dotted path', () => {
    assert.deepEqual(claimTenants({ tenant: 'acme' }, 'tenant'), { ok: true, tenants: ['acme'] });
    assert.deepEqual(claimTenants({ tenants: ['a', 'b', 'a'] }, 'tenants'), { ok: true, tenants: ['a', 'b'] });
    assert.deepEqual(claimTenants({ org: { tenant: 'acme' } }, 'org.tenant'), { ok: true, tenants: ['acme'] });
    assert.deepEqual(claimTenants({ 'https://x.example/tenant': 'acme' }, 'https://x.example/tenant'), { ok: true, tenants: ['acme'] });
    for (const payload of [
      {},
      { tenant: '' },
      { tenant: [] },
      { tenant: 7 },
      { tenant: ['ok', 5] },
      { tenant: 'has space' },
      { tenant: { a: 1 } },
    ]) {
      assert.equal(claimTenants(payload, 'tenant').ok, false, JSON.stringify(payload));
    }
    // A path never walks into the prototype.
    assert.equal(claimTenants({ org: {} }, 'org.constructor').ok, false);
    assert.equal(claimTenants(JSON.parse('{"__proto__": {"tenant": "acme"}}') as Record<string, unknown>, 'tenant').ok, false);
  });

  it('chooses the tenant: the only one allowed, the one named among several, 403 for any other', () => {
    const one: Principal = { id: 'k', tenants: ['a'], rateLimit: null, admin: false };
    const two: Principal = { id: 'k', tenants: ['a', 'b'], rateLimit: null, admin: false };
    const open: Principal = { id: 'anonymous', tenants: 'any', rateLimit: null, admin: true };
    assert.deepEqual(chooseTenant(one, null), { ok: true, tenant: 'a' });
    assert.deepEqual(chooseTenant(one, 'a'), { ok: true, tenant: 'a' });
    assert.equal((chooseTenant(one, 'b') as { status: number }).status, 403);
    assert.equal((chooseTenant(one, 'A') as { status: number }).status, 403);
    assert.equal((chooseTenant(one, '') as { status: number }).status, 403);
    assert.deepEqual(chooseTenant(two, 'b'), { ok: true, tenant: 'b' });
    assert.equal((chooseTenant(two, null) as { status: number }).status, 400);
    assert.deepEqual(chooseTenant(open, 'x'), { ok: true, tenant: 'x' });
    assert.deepEqual(chooseTenant(open, null), { ok: true, tenant: undefined });
  });

  it('accepts a valid API key or JWT and refuses everything else with 401', async () => {
    const { key, entry } = await createApiKey({ tenants: ['acme'], rateLimit: { perSecond: 1, burst: 2 } });
    const auth = credentialAuthenticator({
      apiKeys: new ApiKeyStore([entry]),
      jwt: { key: SECRET, algorithms: ['HS256'], issuer: 'https://idp.example/', audience: 'searchbus', tenantClaim: 'tenant' },
    });
    const byKey = await auth.authenticate({ authorization: `Bearer ${key}` });
    assert.deepEqual(byKey, {
      ok: true,
      principal: { id: `key:${entry.id}`, tenants: ['acme'], rateLimit: { perSecond: 1, burst: 2 }, admin: false },
    });
    assert.equal((await auth.authenticate({ 'x-api-key': key })).ok, true);

    const good = await jwt({ tenant: ['a', 'b'] }, { issuer: 'https://idp.example/', audience: 'searchbus' });
    assert.deepEqual(await auth.authenticate({ authorization: `Bearer ${good}` }), {
      ok: true,
      principal: { id: 'jwt:https://idp.example/:user-1', tenants: ['a', 'b'], rateLimit: null, admin: false },
    });

    const refused = async (headers: Record<string, string>, message: RegExp): Promise<void> => {
      const outcome = await auth.authenticate(headers);
      assert.equal(outcome.ok, false, JSON.stringify(headers));
      assert.ok(!outcome.ok && outcome.status === 401);
      assert.match((outcome as { message: string }).message, message);
    };
    await refused({}, /needs an API key or a JWT/);
    await refused({ authorization: `Bearer ${key.slice(0, -2)}xx` }, /unknown or revoked API key/);
    await refused(
      { authorization: `Bearer ${await jwt({ tenant: 'a' }, { issuer: 'https://idp.example/', audience: 'other' })}` },
      /claim "aud"/,
    );
    await refused(
      { authorization: `Bearer ${await jwt({ tenant: 'a' }, { issuer: 'https://evil.example/', audience: 'searchbus' })}` },
      /claim "iss"/,
    );
    await refused(
      {
        authorization: `Bearer ${await jwt({ tenant: 'a' }, { issuer: 'https://idp.example/', audience: 'searchbus', expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
      },
      /expired/,
    );
    await refused(
      {
        authorization: `Bearer ${await jwt({ tenant: 'a' }, { issuer: 'https://idp.example/', audience: 'searchbus', key: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!!') })}`,
      },
      /signature/,
    );
    await refused(
      { authorization: `Bearer ${await jwt({ org: 'a' }, { issuer: 'https://idp.example/', audience: 'searchbus' })}` },
      /no "tenant" claim/,
    );
    // alg=none: an unsigned token must never pass.
    const [, body] = good.split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${body}.`;
    await refused({ authorization: `Bearer ${unsigned}` }, /invalid token/);
    await refused({ authorization: 'Bearer not.a.jwt' }, /invalid token/);
  });

  it('grants /admin/ to an API key with the admin scope and to a JWT with the searchbus:admin scope, not to others', async () => {
    const admin = await createApiKey({ tenants: ['acme'], scopes: ['admin'] });
    const plain = await createApiKey({ tenants: ['acme'] });
    const auth = credentialAuthenticator({
      apiKeys: new ApiKeyStore([admin.entry, plain.entry]),
      jwt: { key: SECRET, algorithms: ['HS256'], issuer: 'https://idp.example/', audience: 'searchbus', tenantClaim: 'tenant' },
    });
    const isAdmin = async (credential: string): Promise<boolean> => {
      const outcome = await auth.authenticate({ authorization: `Bearer ${credential}` });
      assert.ok(outcome.ok, JSON.stringify(outcome));
      return outcome.principal.admin;
    };
    const token = (claims: Record<string, unknown>): Promise<string> =>
      jwt({ tenant: 'a', ...claims }, { issuer: 'https://idp.example/', audience: 'searchbus' });
    assert.equal(await isAdmin(admin.key), true);
    assert.equal(await isAdmin(plain.key), false);
    assert.equal(await isAdmin(await token({ scope: 'openid searchbus:admin' })), true);
    assert.equal(await isAdmin(await token({ scp: ['searchbus:admin'] })), true);
    assert.equal(await isAdmin(await token({ scp: 'searchbus:admin profile' })), true);
    assert.equal(await isAdmin(await token({ scope: 'searchbus:administrator searchbus' })), false, 'a scope is matched whole');
    assert.equal(await isAdmin(await token({ scope: ['searchbus:admin'] })), false, 'scope is a string, not an array');
    assert.equal(await isAdmin(await token({})), false);
    assert.deepEqual(claimScopes({ scope: ' a  b ', scp: ['c', 1] }), ['a', 'b', 'c']);
  });

  it('requires exp, and rejects a token signed with an algorithm outside the accepted list', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const auth = credentialAuthenticator({
      apiKeys: null,
      jwt: { key: createLocalJWKSet({ keys: [jwk] }), algorithms: ['ES256'], issuer: 'i', audience: 'a', tenantClaim: 'tenant' },
    });
    const sign = (claims: Record<string, unknown>, exp: boolean): Promise<string> => {
      const t = new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('i').setAudience('a');
      return (exp ? t.setExpirationTime('1m') : t).sign(privateKey);
    };
    assert.equal((await auth.authenticate({ authorization: `Bearer ${await sign({ tenant: 't' }, true)}` })).ok, true);
    assert.equal((await auth.authenticate({ authorization: `Bearer ${await sign({ tenant: 't' }, false)}` })).ok, false, 'no exp');
    const hs = await new SignJWT({ tenant: 't' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer('i')
      .setAudience('a')
      .setExpirationTime('1m')
      .sign(SECRET);
    assert.equal((await auth.authenticate({ authorization: `Bearer ${hs}` })).ok, false, 'HS256 against a JWKS');
    const keysOnly = credentialAuthenticator({ apiKeys: null, jwt: null });
    assert.equal((await keysOnly.authenticate({ authorization: 'Bearer sbk_x' })).ok, false);
  });
});
