import { DEFAULT_TENANT, MAX_ID_LENGTH, TENANT_PATTERN, documentKey, isValidDocumentId, parseDocumentKey } from './document-identity.ts';
import { ContractError, type SchemaErrorCode } from './errors.ts';
import { DEFAULT_MEDIA_INLINE_MAX_BYTES, validateDocumentMedia, type MediaRef } from './media.ts';

// The public ingest contract: any Kafka client may publish it. Key = `<tenant>/<id>` (UTF-8, see
// document-identity.ts); value = this JSON envelope, or null (a tombstone) to delete the document.

export const DOCUMENT_SCHEMA_VERSION = 1;
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
const MAX_METADATA_KEYS = 64;
/** Metadata field names; also what a search filter may name (see search-schema.ts). */
export const METADATA_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const METADATA_KEY = METADATA_KEY_PATTERN;
const TENANT = TENANT_PATTERN;

export type MetadataScalar = string | number | boolean;
export type MetadataValue = MetadataScalar | MetadataScalar[];

export interface DocumentV1 {
  schemaVersion: 1;
  id: string;
  title?: string;
  text?: string;
  metadata?: Record<string, MetadataValue>;
  tenant?: string;
  /** An image, audio clip or document file, inline or by reference (topology/media.ts): embedded, or its text extracted, beside the text. */
  media?: MediaRef;
}

export interface DocumentLimits {
  /** SEARCHBUS_MEDIA_INLINE_MAX_BYTES: decoded bytes of inline `media.data`. */
  mediaInlineMaxBytes?: number;
}

/** A decoded ingest record; `tenant` and `id` are the document's identity. */
export type IngestMessage =
  { kind: 'upsert'; tenant: string; id: string; document: DocumentV1 } | { kind: 'delete'; tenant: string; id: string };

/** The tenant a document belongs to: its `tenant` field, or the default tenant. */
export function tenantOf(document: { tenant?: string }): string {
  return document.tenant ?? DEFAULT_TENANT;
}

/** The Kafka key a document must be published with. */
export function keyOf(document: { tenant?: string; id: string }): string {
  return documentKey(tenantOf(document), document.id);
}

export function encodeDocument(document: Omit<DocumentV1, 'schemaVersion'>, limits: DocumentLimits = {}): Buffer {
  const envelope: DocumentV1 = { schemaVersion: DOCUMENT_SCHEMA_VERSION, ...document };
  validateDocument(envelope, limits);
  const bytes = Buffer.from(JSON.stringify(envelope), 'utf8');
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    throw new ContractError<SchemaErrorCode>(
      'oversized',
      `document ${document.id} is ${bytes.length} bytes; the limit is ${MAX_DOCUMENT_BYTES}`,
    );
  }
  return bytes;
}

/**
 * Decodes one ingest record. Throws ContractError (never retriable) for anything off-contract. A
 * tombstone's identity comes from its key alone; an upsert's key must be the key of the
 * document's own (tenant, id), so a record can never write or delete another tenant's document.
 */
export function decodeIngestMessage(key: Buffer | null, value: Buffer | null, limits: DocumentLimits = {}): IngestMessage {
  if (value === null) return { kind: 'delete', ...parseDocumentKey(key) };
  if (value.length > MAX_DOCUMENT_BYTES) {
    throw new ContractError<SchemaErrorCode>('oversized', `message is ${value.length} bytes; the limit is ${MAX_DOCUMENT_BYTES}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new ContractError<SchemaErrorCode>('invalid-json', `value is not JSON: ${(error as Error).message}`);
  }
  const document = validateDocument(parsed, limits);
  const tenant = tenantOf(document);
  const expected = documentKey(tenant, document.id);
  if (key === null || key.length === 0) {
    throw new ContractError<SchemaErrorCode>('missing-key', `the key is required: "${truncate(expected)}" (<tenant>/<id>)`);
  }
  if (!key.equals(Buffer.from(expected, 'utf8'))) {
    const keyText = key.toString('utf8');
    const legacy = keyText === document.id ? ' (a bare id is the key format before tenants were part of the identity)' : '';
    throw new ContractError<SchemaErrorCode>(
      'key-mismatch',
      `key "${truncate(keyText)}" differs from the document's key "${truncate(expected)}" (<tenant>/<id>)${legacy}`,
    );
  }
  return { kind: 'upsert', tenant, id: document.id, document };
}

export function validateDocument(input: unknown, limits: DocumentLimits = {}): DocumentV1 {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ContractError<SchemaErrorCode>('not-an-object', 'a document must be a JSON object');
  }
  const doc = input as Record<string, unknown>;
  if (!('schemaVersion' in doc)) throw new ContractError<SchemaErrorCode>('missing-schema-version', 'schemaVersion is required (1)');
  if (doc.schemaVersion !== DOCUMENT_SCHEMA_VERSION) {
    throw new ContractError<SchemaErrorCode>(
      'unsupported-schema-version',
      `schemaVersion ${describeValue(doc.schemaVersion)} is not supported (expected 1)`,
    );
  }
  if (doc.id === undefined || doc.id === null || doc.id === '') throw new ContractError<SchemaErrorCode>('missing-id', 'id is required');
  if (!isValidDocumentId(doc.id)) {
    throw new ContractError<SchemaErrorCode>(
      'invalid-id',
      `id must be a string of at most ${MAX_ID_LENGTH} characters without surrounding spaces`,
    );
  }
  // A lone surrogate cannot be encoded as the UTF-8 key, so the key would never equal the id.
  if (!isWellFormed(doc.id)) throw new ContractError<SchemaErrorCode>('invalid-id', 'id must be well-formed Unicode (no lone surrogates)');
  for (const field of ['title', 'text'] as const) {
    if (doc[field] !== undefined && typeof doc[field] !== 'string') {
      throw new ContractError<SchemaErrorCode>('invalid-field', `${field} must be a string`);
    }
    // Qdrant (serde_json) refuses lone surrogates in a payload: refuse them here, with a reason.
    const value = doc[field];
    if (typeof value === 'string' && !isWellFormed(value)) {
      throw new ContractError<SchemaErrorCode>('invalid-field', `${field} must be well-formed Unicode (no lone surrogates)`);
    }
  }
  const title = (doc.title as string | undefined) ?? '';
  const text = (doc.text as string | undefined) ?? '';
  if (doc.media !== undefined) validateDocumentMedia(doc.media, limits.mediaInlineMaxBytes ?? DEFAULT_MEDIA_INLINE_MAX_BYTES);
  else if (title.trim() === '' && text.trim() === '')
    throw new ContractError<SchemaErrorCode>('empty-text', `document ${truncate(doc.id)} has no title, text or media`);
  if (doc.tenant !== undefined && (typeof doc.tenant !== 'string' || !TENANT.test(doc.tenant))) {
    throw new ContractError<SchemaErrorCode>('invalid-field', `tenant must match ${String(TENANT)}`);
  }
  if (doc.metadata !== undefined) validateMetadata(doc.metadata);
  const known = new Set(['schemaVersion', 'id', 'title', 'text', 'metadata', 'tenant', 'media']);
  const unknown = Object.keys(doc).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new ContractError<SchemaErrorCode>('invalid-field', `unknown field(s): ${unknown.join(', ')}`);
  return doc as unknown as DocumentV1;
}

function validateMetadata(metadata: unknown): void {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new ContractError<SchemaErrorCode>('invalid-field', 'metadata must be an object');
  }
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_KEYS)
    throw new ContractError<SchemaErrorCode>('invalid-field', `metadata has more than ${MAX_METADATA_KEYS} keys`);
  for (const [key, value] of entries) {
    if (!METADATA_KEY.test(key))
      throw new ContractError<SchemaErrorCode>('invalid-field', `metadata key "${truncate(key)}" must match ${String(METADATA_KEY)}`);
    const values = Array.isArray(value) ? value : [value];
    if (
      !values.every(
        (v) => (typeof v === 'string' && isWellFormed(v)) || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)),
      )
    ) {
      throw new ContractError<SchemaErrorCode>(
        'invalid-field',
        `metadata.${key} must be a string (well-formed Unicode), number, boolean or an array of them`,
      );
    }
  }
}

/** No lone surrogates: the string has a UTF-8 encoding, and JSON parsers other than JavaScript's accept it. */
export function isWellFormed(text: string): boolean {
  return !/\p{Cs}/u.test(text);
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * A received value named in an error message. Shallow on purpose: JSON.stringify would recurse
 * through nesting deep enough to overflow the stack (the 1 MiB limit allows 500,000 levels).
 */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return value === null ? 'null' : value === undefined ? 'nothing' : typeof value;
}
