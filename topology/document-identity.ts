import { ContractError, type SchemaErrorCode } from './errors.ts';

// A document is identified by (tenant, id): the same id in two tenants is two documents. The Kafka
// key carries both, so that compaction keeps one record per identity and every version of a
// document lands on one partition, in order. The format is plain text so any Kafka client can
// publish it (`kcat -K '\t'`, a Java or Python producer): `<tenant>/<id>`, for every tenant,
// `default` included. A tenant never contains `/`, so the key splits at its first `/`; the id
// may contain `/` (and anything else but surrounding spaces).

/** Documents published without a tenant belong to this one; a search without a tenant sees only it. */
export const DEFAULT_TENANT = 'default';
export const TENANT_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_ID_LENGTH = 512;
/** Between the tenant and the id in a document key. Not allowed in a tenant. */
export const DOCUMENT_KEY_SEPARATOR = '/';

export interface DocumentIdentity {
  tenant: string;
  id: string;
}

export function isValidTenant(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && TENANT_PATTERN.test(tenant);
}

export function isValidDocumentId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && id.trim() === id;
}

/** The Kafka key of a document: `<tenant>/<id>`. Throws ContractError('invalid-key') for a bad tenant or id. */
export function documentKey(tenant: string, id: string): string {
  if (!isValidTenant(tenant))
    throw new ContractError<SchemaErrorCode>('invalid-key', `tenant ${quote(tenant)} must match ${String(TENANT_PATTERN)}`);
  if (!isValidDocumentId(id))
    throw new ContractError<SchemaErrorCode>(
      'invalid-key',
      `id ${quote(id)} must be 1–${MAX_ID_LENGTH} characters without surrounding spaces`,
    );
  // A lone surrogate has no UTF-8 encoding: the key would name another id.
  if (/\p{Cs}/u.test(id)) throw new ContractError<SchemaErrorCode>('invalid-key', 'id must be well-formed Unicode (no lone surrogates)');
  return `${tenant}${DOCUMENT_KEY_SEPARATOR}${id}`;
}

/**
 * A Kafka key -> (tenant, id). Throws ContractError: `missing-key` for a null or empty key,
 * `invalid-key` for anything that is not `<tenant>/<id>` in UTF-8 (a bare id, the key format
 * before tenants were part of the identity, included).
 */
export function parseDocumentKey(key: Buffer | string | null | undefined): DocumentIdentity {
  if (key === null || key === undefined || key.length === 0) {
    throw new ContractError<SchemaErrorCode>('missing-key', 'the key is required: <tenant>/<id>, e.g. "default/report-1"');
  }
  const text = typeof key === 'string' ? key : key.toString('utf8');
  if (typeof key !== 'string' && !Buffer.from(text, 'utf8').equals(key)) {
    throw new ContractError<SchemaErrorCode>('invalid-key', 'the key is not valid UTF-8; it must be <tenant>/<id>');
  }
  const at = text.indexOf(DOCUMENT_KEY_SEPARATOR);
  if (at < 0) {
    throw new ContractError<SchemaErrorCode>(
      'invalid-key',
      `key ${quote(text)} has no tenant; it must be <tenant>/<id>, e.g. "${DEFAULT_TENANT}/${truncate(text)}" (a bare id is the key format before tenants were part of the identity)`,
    );
  }
  const tenant = text.slice(0, at);
  const id = text.slice(at + 1);
  if (!isValidTenant(tenant))
    throw new ContractError<SchemaErrorCode>(
      'invalid-key',
      `key ${quote(text)}: tenant ${quote(tenant)} must match ${String(TENANT_PATTERN)}`,
    );
  if (!isValidDocumentId(id)) {
    throw new ContractError<SchemaErrorCode>(
      'invalid-key',
      `key ${quote(text)}: id ${quote(id)} must be 1–${MAX_ID_LENGTH} characters without surrounding spaces`,
    );
  }
  return { tenant, id };
}

function quote(text: string): string {
  return JSON.stringify(truncate(text));
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
