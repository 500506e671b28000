import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { GATEWAY_ADMIN_SCOPE, TENANT_PATTERN } from '../../topology/index.ts';
import { API_KEY_PREFIX, type ApiKeyStore, type RateLimit } from './api-keys.ts';

// Who is asking, from the request's credential: `Authorization: Bearer <api key or JWT>` or
// `X-Api-Key: <api key>`. The tenants a principal may search come from the credential alone.

export interface Principal {
  /** Names the rate-limit bucket: `key:<id>` or `jwt:<issuer>:<subject>`. */
  id: string;
  /** 'any': no authentication, the caller's `tenant` parameter is trusted (SEARCHBUS_GATEWAY_AUTH=none). */
  tenants: readonly string[] | 'any';
  /** The credential's own limit; null: the gateway's default. */
  rateLimit: RateLimit | null;
  /** May use the /admin/ endpoints (eval sets, rebuilds), for its tenants only. */
  admin: boolean;
}

export type AuthOutcome =
  | { ok: true; principal: Principal }
  /** 401 with WWW-Authenticate; `error` is RFC 6750's, set when a credential was shown and refused. */
  | { ok: false; status: 401; message: string; error?: 'invalid_token' | 'invalid_request' }
  /** The verifier itself could not be reached (a remote JWKS): 503, not the caller's fault. */
  | { ok: false; status: 503; message: string };

export interface Authenticator {
  /** `WWW-Authenticate` challenge schemes. */
  readonly challenge: string;
  authenticate(headers: IncomingHttpHeaders): Promise<AuthOutcome>;
}

/**
 * No credentials: everyone may name any tenant and use /admin/. Only for a gateway behind something
 * that authenticates (and decides who reaches /admin/).
 */
export const openAuthenticator: Authenticator = {
  challenge: 'Bearer realm="searchbus"',
  authenticate: () => Promise.resolve({ ok: true, principal: { id: 'anonymous', tenants: 'any', rateLimit: null, admin: true } }),
};

export interface JwtVerifier {
  key: Uint8Array | JWTVerifyGetKey;
  algorithms: string[];
  issuer: string | null;
  audience: string | null;
  tenantClaim: string;
}

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Clocks of the issuer and the gateway may disagree by this much on exp and nbf. */
const CLOCK_TOLERANCE_S = 5;
const MAX_CREDENTIAL_CHARS = 8192;

export function credentialAuthenticator(options: { apiKeys: ApiKeyStore | null; jwt: JwtVerifier | null }): Authenticator {
  const accepted = [options.apiKeys ? 'an API key' : null, options.jwt ? 'a JWT' : null].filter(Boolean).join(' or ');
  return {
    challenge: 'Bearer realm="searchbus"',
    async authenticate(headers) {
      const found = presentedCredential(headers);
      if (!found.ok) return { ok: false, status: 401, message: found.message, error: 'invalid_request' };
      if (found.credential === null)
        return { ok: false, status: 401, message: `this gateway needs ${accepted}: send Authorization: Bearer <credential>` };
      const credential = found.credential;
      if (credential.startsWith(API_KEY_PREFIX) || found.from === 'x-api-key') {
        if (!options.apiKeys) return refused('this gateway does not accept API keys');
        const entry = await options.apiKeys.verify(credential);
        if (!entry) return refused('unknown or revoked API key');
        return {
          ok: true,
          principal: {
            id: `key:${entry.id}`,
            tenants: entry.tenants,
            rateLimit: entry.rateLimit ?? null,
            admin: entry.scopes?.includes('admin') ?? false,
          },
        };
      }
      if (!options.jwt) return refused('this gateway does not accept JWTs');
      return verifyJwt(credential, options.jwt);
    },
  };
}

function refused(message: string): AuthOutcome {
  return { ok: false, status: 401, message, error: 'invalid_token' };
}

type Presented = { ok: true; credential: string | null; from: 'authorization' | 'x-api-key' | null } | { ok: false; message: string };

export function presentedCredential(headers: IncomingHttpHeaders): Presented {
  const authorization = headers.authorization;
  const apiKey = headers['x-api-key'];
  if (authorization !== undefined && apiKey !== undefined)
    return { ok: false, message: 'send one credential: Authorization or X-Api-Key, not both' };
  if (authorization !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) return { ok: false, message: 'Authorization must be "Bearer <credential>"' };
    const credential = match[1]!;
    if (credential.length > MAX_CREDENTIAL_CHARS)
      return { ok: false, message: `the credential is longer than ${MAX_CREDENTIAL_CHARS} characters` };
    return { ok: true, credential, from: 'authorization' };
  }
  if (apiKey !== undefined) {
    // Node joins repeated X-Api-Key headers with ", ": two keys are refused, not guessed between.
    const key = (Array.isArray(apiKey) ? apiKey.join(', ') : apiKey).trim();
    if (key === '' || /[\s,]/.test(key) || key.length > MAX_CREDENTIAL_CHARS)
      return { ok: false, message: 'X-Api-Key must hold exactly one API key' };
    return { ok: true, credential: key, from: 'x-api-key' };
  }
  return { ok: true, credential: null, from: null };
}

async function verifyJwt(token: string, verifier: JwtVerifier): Promise<AuthOutcome> {
  let payload: JWTPayload;
  try {
    const options = {
      algorithms: verifier.algorithms,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp'],
      ...(verifier.issuer !== null ? { issuer: verifier.issuer } : {}),
      ...(verifier.audience !== null ? { audience: verifier.audience } : {}),
    };
    // Two call shapes, so TypeScript picks the right overload of jwtVerify.
    payload = (
      typeof verifier.key === 'function' ? await jwtVerify(token, verifier.key, options) : await jwtVerify(token, verifier.key, options)
    ).payload;
  } catch (error) {
    if (error instanceof joseErrors.JWKSTimeout) return { ok: false, status: 503, message: 'the JWKS could not be fetched in time' };
    if (error instanceof joseErrors.JOSEError) return refused(`invalid token: ${jwtReason(error)}`);
    // Anything else comes from fetching a remote JWKS (network, HTTP status, bad JSON).
    return { ok: false, status: 503, message: `the JWKS could not be fetched: ${(error as Error).message}` };
  }
  const tenants = claimTenants(payload, verifier.tenantClaim);
  if (!tenants.ok) return refused(`invalid token: ${tenants.message}`);
  const subject = typeof payload.sub === 'string' ? payload.sub : `token-${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  return {
    ok: true,
    principal: {
      id: `jwt:${payload.iss ?? ''}:${subject}`,
      tenants: tenants.tenants,
      rateLimit: null,
      admin: claimScopes(payload).includes(GATEWAY_ADMIN_SCOPE),
    },
  };
}

/**
 * The OAuth scopes a JWT grants: `scope`, a space-separated string (RFC 8693 4.2), or `scp`, an
 * array of strings or one string (as several identity providers issue it).
 */
export function claimScopes(payload: Record<string, unknown>): string[] {
  const scopes: string[] = [];
  const { scope, scp } = payload;
  if (typeof scope === 'string') scopes.push(...scope.split(' ').filter((s) => s !== ''));
  if (typeof scp === 'string') scopes.push(...scp.split(' ').filter((s) => s !== ''));
  if (Array.isArray(scp)) scopes.push(...scp.filter((s): s is string => typeof s === 'string'));
  return scopes;
}

function jwtReason(error: InstanceType<typeof joseErrors.JOSEError>): string {
  if (error instanceof joseErrors.JWTExpired) return 'it has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `claim "${error.claim}" ${error.reason === 'missing' ? 'is missing' : 'check failed'}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'its algorithm is not accepted';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the JWKS matches it';
  return 'it is malformed';
}

/**
 * The tenants a JWT grants, from its claim: a string or an array of strings. A claim name with
 * dots that is not itself a top-level claim is followed as a path (`org.tenant`).
 */
export function claimTenants(
  payload: Record<string, unknown>,
  claim: string,
): { ok: true; tenants: string[] } | { ok: false; message: string } {
  let value: unknown = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
  if (value === undefined && claim.includes('.')) {
    value = claim
      .split('.')
      .reduce<unknown>(
        (node, part) =>
          typeof node === 'object' && node !== null && !Array.isArray(node) && Object.hasOwn(node, part)
            ? (node as Record<string, unknown>)[part]
            : undefined,
        payload,
      );
  }
  if (value === undefined) return { ok: false, message: `it carries no "${claim}" claim` };
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : null;
  if (list === null || list.length === 0 || !list.every((t): t is string => typeof t === 'string' && TENANT_PATTERN.test(t))) {
    return { ok: false, message: `claim "${claim}" must be a tenant or a non-empty array of tenants matching ${String(TENANT_PATTERN)}` };
  }
  return { ok: true, tenants: [...new Set(list)] };
}

export type TenantChoice = { ok: true; tenant: string | undefined } | { ok: false; status: 400 | 403; message: string };

/** The tenant a request searches: the one its credential allows, or the one it names among those. */
export function chooseTenant(principal: Principal, requested: string | null): TenantChoice {
  if (principal.tenants === 'any') return { ok: true, tenant: requested ?? undefined };
  if (requested !== null) {
    return principal.tenants.includes(requested)
      ? { ok: true, tenant: requested }
      : { ok: false, status: 403, message: `this credential may not search tenant ${JSON.stringify(requested)}` };
  }
  if (principal.tenants.length === 1) return { ok: true, tenant: principal.tenants[0] };
  return {
    ok: false,
    status: 400,
    message: `this credential may search several tenants (${principal.tenants.join(', ')}): name one with tenant`,
  };
}
