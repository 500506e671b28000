import { TENANT_PATTERN } from './document-identity.ts';
import { describeValue, isWellFormed, METADATA_KEY_PATTERN } from './document-schema.ts';
import { ContractError } from './errors.ts';
import { decodePosition } from './read-position.ts';
import { DEFAULT_MEDIA_INLINE_MAX_BYTES, validateMedia } from './media.ts';
import { TRACE_HEADERS } from './names.ts';
import { traceValue } from './trace-context.ts';
import type { MediaLabel, TextSource } from './collection.ts';
import { CODE_LANGUAGES, isCodeLanguage, type CodeLanguage } from './code-languages.ts';

// The public search contract. Any Kafka client may publish a request (key = request id) and any
// Redis client may listen for the reply, so both are plain, versioned JSON, validated strictly:
// a request that does not follow the contract gets an error reply naming what is wrong, never a
// guess at what was meant.

export const SEARCH_SCHEMA_VERSION = 1;
export const MAX_SEARCH_REQUEST_BYTES = 64 * 1024;
/** A query by example (inline image or audio) may be this large; any other request stays within MAX_SEARCH_REQUEST_BYTES. */
export const MAX_MEDIA_SEARCH_REQUEST_BYTES = 1024 * 1024;
export const MAX_REQUEST_ID_LENGTH = 128;
export const MAX_QUERY_CHARS = 4096;
/** A code query (a function or a file) may be longer than words; the request still fits MAX_SEARCH_REQUEST_BYTES. */
export const MAX_CODE_QUERY_CHARS = 32 * 1024;
/** Conditions over must + should + mustNot; bounds the work one request can ask of Qdrant. */
export const MAX_FILTER_CONDITIONS = 32;
export const MAX_MATCH_ANY_VALUES = 256;

export type SearchErrorCode =
  | 'invalid-json'
  | 'invalid-request'
  | 'empty-query'
  | 'invalid-top-k'
  | 'invalid-filter'
  /** `mode` is not one of dense, sparse, hybrid, or needs a sparse vector the collection searched does not have. */
  | 'invalid-mode'
  /** A query by example whose medium cannot be read or decoded, or a modality the collection searched has no vectors for. */
  | 'invalid-media'
  /** Not sent by the query consumer (expired requests are skipped); clients use it for a deadline already past. */
  | 'expired'
  /** `after` is not a position token (read-position.ts), or names another topic than the one indexed. */
  | 'invalid-position'
  /** The index did not reach the request's `after` position before its deadline; `error.lag` says how far behind it was. */
  | 'not-yet-indexed'
  | 'internal'
  | 'unavailable';

export const SEARCH_ERROR_CODES: readonly SearchErrorCode[] = [
  'invalid-json',
  'invalid-request',
  'empty-query',
  'invalid-top-k',
  'invalid-filter',
  'invalid-mode',
  'invalid-media',
  'expired',
  'invalid-position',
  'not-yet-indexed',
  'internal',
  'unavailable',
];

export type MatchValue = string | number | boolean;

/** A condition on one metadata field. Keys name fields of the document's `metadata`, nothing else. */
export type MatchCondition = { value: MatchValue } | { any: string[] | number[] };
export interface RangeCondition {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** A condition on one metadata field. Keys name fields of the document's `metadata`, nothing else. */
export type FilterCondition = { key: string; match: MatchCondition } | { key: string; range: RangeCondition };

/** All of `must`, at least one of `should` (when given), none of `mustNot`. */
export interface SearchFilter {
  must?: FilterCondition[];
  should?: FilterCondition[];
  mustNot?: FilterCondition[];
}

/**
 * How a search ranks: `dense` by the embedding, `sparse` by BM25-style terms, `hybrid` both, fused
 * in Qdrant. Without one, a collection with sparse vectors is searched hybrid, any other dense.
 */
export type SearchMode = 'dense' | 'sparse' | 'hybrid';
export const SEARCH_MODES: readonly SearchMode[] = ['dense', 'sparse', 'hybrid'];

export function isSearchMode(value: unknown): value is SearchMode {
  return typeof value === 'string' && (SEARCH_MODES as readonly string[]).includes(value);
}

/** A query by example: the medium inline (base64) or by uri; `type` (a MIME type) is optional here. */
export interface MediaQuery {
  type?: string;
  data?: string;
  uri?: string;
}

/** Source code as a query: parsed like an ingested file of `language`, its code terms and its embedding searched. */
export interface CodeQuery {
  text: string;
  language: CodeLanguage;
}

/** Words or code (searched against `text` vectors), or an image or a recording (against `image` / `audio`). */
export type SearchQuery = { text: string } | { code: CodeQuery } | { image: MediaQuery } | { audio: MediaQuery };

/** A query searched against the text vectors (words or code), rather than by an example medium. */
export function isTextualQuery(query: SearchQuery): query is { text: string } | { code: CodeQuery } {
  return 'text' in query || 'code' in query;
}

export interface SearchRequestV1 {
  schemaVersion: 1;
  id: string;
  query: SearchQuery;
  topK: number;
  filter?: SearchFilter;
  tenant?: string;
  mode?: SearchMode;
  /** Redis channel to PUBLISH the reply to. */
  replyTo: string;
  /** Epoch milliseconds after which nobody waits for the answer. */
  deadline: number;
  /**
   * A position token (what publishing returned): answer only once the index holds every record
   * up to it, waiting until shortly before `deadline`, else reply `not-yet-indexed`.
   */
  after?: string;
  /**
   * W3C trace context of the client's search span (also in the record headers, which a proxy may
   * drop). Optional; a malformed value is ignored, never a reason to refuse the request.
   */
  traceparent?: string;
  tracestate?: string;
}

export interface SearchHit {
  docId: string;
  /** The best-scoring chunk of the document. */
  chunk: number;
  score: number;
  title: string;
  snippet: string;
  metadata: Record<string, unknown>;
  /**
   * The document's medium (type, modality, its uri when it came by reference, and for an image a
   * small preview as a `data:image/webp;base64,` URL), when it has one. For a video, `at`: the
   * moment (seconds from its start) of the best-scoring frame or audio segment.
   */
  media?: { type: string; modality: string; uri?: string; at?: number; thumbnail?: string; labels?: MediaLabel[] };
  /** The page of the best chunk, for text extracted from a paged file (PDF). */
  page?: number;
  /**
   * Why the best chunk matched when its text was read from the medium: `labels`, what the image model
   * saw in the photo (`media.labels`); `ocr`, text in the image; `transcript`, what was said in the
   * recording between `startMs` and `endMs`.
   */
  textSource?: TextSource;
  /** Where the best chunk was said, for speech transcribed from a recording: ms from its start. */
  startMs?: number;
  endMs?: number;
  /** Source code: the best chunk's language, function or class (`Class.method`) and 1-based lines. */
  code?: { language: CodeLanguage; symbol?: string; startLine: number; endLine: number };
}

export interface SearchHitsReplyV1 {
  schemaVersion: 1;
  id: string;
  hits: SearchHit[];
  /** The model the query was embedded with: the one that built the collection searched. */
  model: string;
  /** Time the query consumer spent on the batch holding this request. */
  tookMs: number;
  /** The mode the query ran in (the request's, or the collection's default). */
  mode?: SearchMode;
}

export interface SearchErrorReplyV1 {
  schemaVersion: 1;
  id: string;
  error: {
    code: SearchErrorCode;
    message: string;
    /** With `not-yet-indexed`: per partition of the position, records the index still had to apply. */
    lag?: Record<string, number>;
  };
}

export type SearchReplyV1 = SearchHitsReplyV1 | SearchErrorReplyV1;

const SEARCH_CODES: ReadonlySet<string> = new Set(SEARCH_ERROR_CODES);

/** Whether `code` is one of the search contract's error codes (a reply's `error.code`). */
export function isSearchErrorCode(code: string): code is SearchErrorCode {
  return SEARCH_CODES.has(code);
}

/** A search request or reply off its contract (a ContractError with the reply's code). */
export function isSearchContractError(error: unknown): error is ContractError<SearchErrorCode> {
  return error instanceof ContractError && isSearchErrorCode(error.code);
}

export interface SearchRequestLimits {
  maxTopK: number;
  /** Replies may only go to channels starting with this (the topology's reply prefix). */
  replyChannelPrefix: string;
  /** SEARCHBUS_MEDIA_INLINE_MAX_BYTES for inline query media. */
  mediaInlineMaxBytes?: number;
}

export type DecodedSearchRequest =
  | { ok: true; request: SearchRequestV1 }
  /** `id`/`replyTo` are whatever could be salvaged, so the sender can still be told. */
  | { ok: false; id: string | null; replyTo: string | null; error: ContractError<SearchErrorCode> };

export function encodeSearchRequest(request: Omit<SearchRequestV1, 'schemaVersion'>): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: SEARCH_SCHEMA_VERSION, ...request }), 'utf8');
}

/** Bytes from the request topic -> a valid request, or the reason it is not one. */
export function decodeSearchRequest(value: Buffer | null, limits: SearchRequestLimits): DecodedSearchRequest {
  if (value === null || value.length === 0) {
    return { ok: false, id: null, replyTo: null, error: new ContractError<SearchErrorCode>('invalid-json', 'the request has no body') };
  }
  if (value.length > MAX_MEDIA_SEARCH_REQUEST_BYTES) {
    return {
      ok: false,
      id: null,
      replyTo: null,
      error: new ContractError<SearchErrorCode>(
        'invalid-request',
        `the request is ${value.length} bytes; the limit is ${MAX_SEARCH_REQUEST_BYTES} (${MAX_MEDIA_SEARCH_REQUEST_BYTES} with inline media)`,
      ),
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      id: null,
      replyTo: null,
      error: new ContractError<SearchErrorCode>('invalid-json', `the request is not JSON: ${(error as Error).message}`),
    };
  }
  const decoded = parseSearchRequest(parsed, limits);
  if (decoded.ok && isTextualQuery(decoded.request.query) && value.length > MAX_SEARCH_REQUEST_BYTES) {
    const { id, replyTo } = decoded.request;
    return {
      ok: false,
      id,
      replyTo,
      error: new ContractError<SearchErrorCode>(
        'invalid-request',
        `the request is ${value.length} bytes; the limit is ${MAX_SEARCH_REQUEST_BYTES}`,
      ),
    };
  }
  return decoded;
}

const REQUEST_FIELDS = new Set([
  'schemaVersion',
  'id',
  'query',
  'topK',
  'filter',
  'tenant',
  'mode',
  'replyTo',
  'deadline',
  'after',
  ...TRACE_HEADERS,
]);

export function parseSearchRequest(input: unknown, limits: SearchRequestLimits): DecodedSearchRequest {
  if (!isPlainObject(input)) {
    return {
      ok: false,
      id: null,
      replyTo: null,
      error: new ContractError<SearchErrorCode>('invalid-request', 'a search request must be a JSON object'),
    };
  }
  const id = validId(input.id) ? input.id : null;
  const replyTo = validReplyTo(input.replyTo, limits.replyChannelPrefix) ? input.replyTo : null;
  const fail = (code: SearchErrorCode, message: string): DecodedSearchRequest => ({
    ok: false,
    id,
    replyTo,
    error: new ContractError<SearchErrorCode>(code, message),
  });

  if (input.schemaVersion !== SEARCH_SCHEMA_VERSION) {
    return fail(
      'invalid-request',
      `schemaVersion ${input.schemaVersion === undefined ? 'is missing' : describeValue(input.schemaVersion)}; expected ${SEARCH_SCHEMA_VERSION}`,
    );
  }
  const unknown = Object.keys(input).filter((k) => !REQUEST_FIELDS.has(k));
  if (unknown.length > 0) return fail('invalid-request', `unknown field(s): ${unknown.join(', ')}`);
  if (id === null) return fail('invalid-request', `id must be a non-empty string of at most ${MAX_REQUEST_ID_LENGTH} characters`);
  if (replyTo === null) return fail('invalid-request', `replyTo must be a reply channel starting with "${limits.replyChannelPrefix}"`);
  if (typeof input.deadline !== 'number' || !Number.isSafeInteger(input.deadline) || input.deadline <= 0) {
    return fail('invalid-request', 'deadline must be a time in epoch milliseconds');
  }
  if (input.tenant !== undefined && (typeof input.tenant !== 'string' || !TENANT_PATTERN.test(input.tenant))) {
    return fail('invalid-request', `tenant must match ${String(TENANT_PATTERN)}`);
  }
  if (input.after !== undefined) {
    try {
      decodePosition(input.after);
    } catch (error) {
      if (isSearchContractError(error)) return fail(error.code, `after: ${error.message}`);
      throw error;
    }
  }
  if (input.mode !== undefined && !isSearchMode(input.mode)) {
    return fail('invalid-mode', `mode must be one of ${SEARCH_MODES.join(', ')}, got ${describeValue(input.mode)}`);
  }
  const query = input.query;
  const kinds = isPlainObject(query) ? Object.keys(query) : [];
  const kind = kinds[0];
  if (!isPlainObject(query) || kinds.length !== 1 || (kind !== 'text' && kind !== 'code' && kind !== 'image' && kind !== 'audio')) {
    return fail(
      'invalid-request',
      'query must be one of { text: string }, { code: { text, language } }, { image: { data | uri } }, { audio: { data | uri } }',
    );
  }
  let parsedQuery: SearchQuery;
  if (kind === 'code') {
    const code = query.code;
    if (!isPlainObject(code) || typeof code.text !== 'string')
      return fail('invalid-request', 'query.code must be an object { text, language }');
    if (!isCodeLanguage(code.language))
      return fail(
        'invalid-request',
        `query.code.language must be one of ${CODE_LANGUAGES.join(', ')}, got ${describeValue(code.language)}`,
      );
    if (code.text.trim() === '') return fail('empty-query', 'query.code.text is empty');
    if (!isWellFormed(code.text)) return fail('invalid-request', 'query.code.text must be well-formed Unicode (no lone surrogates)');
    if (code.text.length > MAX_CODE_QUERY_CHARS)
      return fail('invalid-request', `query.code.text is longer than ${MAX_CODE_QUERY_CHARS} characters`);
    parsedQuery = { code: { text: code.text, language: code.language } };
  } else if (kind === 'text') {
    if (typeof query.text !== 'string') return fail('invalid-request', 'query must be an object { text: string }');
    if (query.text.trim() === '') return fail('empty-query', 'query.text is empty');
    if (!isWellFormed(query.text)) return fail('invalid-request', 'query.text must be well-formed Unicode (no lone surrogates)');
    if (query.text.length > MAX_QUERY_CHARS) return fail('invalid-request', `query.text is longer than ${MAX_QUERY_CHARS} characters`);
    parsedQuery = { text: query.text };
  } else {
    const media = query[kind];
    const typed =
      isPlainObject(media) && media.type === undefined ? { ...media, type: kind === 'image' ? 'image/jpeg' : 'audio/wav' } : media;
    try {
      const checked = validateMedia(typed, limits.mediaInlineMaxBytes ?? DEFAULT_MEDIA_INLINE_MAX_BYTES, `query.${kind}`);
      if (checked.modality !== kind) return fail('invalid-request', `query.${kind}.type is ${checked.media.type}, not an ${kind} type`);
      const { data, uri } = checked.media;
      const type = isPlainObject(media) && typeof media.type === 'string' ? { type: media.type } : {};
      parsedQuery = { [kind]: { ...type, ...(data !== undefined ? { data } : { uri: uri! }) } } as SearchQuery;
    } catch (error) {
      if (error instanceof ContractError) return fail('invalid-request', error.message);
      throw error;
    }
  }
  if (typeof input.topK !== 'number' || !Number.isInteger(input.topK) || input.topK < 1 || input.topK > limits.maxTopK) {
    return fail('invalid-top-k', `topK must be a whole number from 1 to ${limits.maxTopK}, got ${describeValue(input.topK)}`);
  }
  let filter: SearchFilter | undefined;
  if (input.filter !== undefined && input.filter !== null) {
    try {
      filter = parseSearchFilter(input.filter);
    } catch (error) {
      if (isSearchContractError(error)) return fail(error.code, error.message);
      throw error;
    }
  }
  const request: SearchRequestV1 = {
    schemaVersion: 1,
    id,
    query: parsedQuery,
    topK: input.topK,
    ...(filter ? { filter } : {}),
    ...(input.tenant !== undefined ? { tenant: input.tenant } : {}),
    ...(input.mode !== undefined ? { mode: input.mode } : {}),
    replyTo,
    deadline: input.deadline,
    ...(typeof input.after === 'string' ? { after: input.after } : {}),
    ...traceFields(input),
  };
  return { ok: true, request };
}

/** The envelope's trace fields that are usable strings; the rest are dropped (tracing is best effort). */
function traceFields(input: Record<string, unknown>): Pick<SearchRequestV1, 'traceparent' | 'tracestate'> {
  const traceparent = traceValue(input.traceparent);
  if (traceparent === undefined) return {};
  const tracestate = traceValue(input.tracestate);
  return { traceparent, ...(tracestate !== undefined ? { tracestate } : {}) };
}

export function validReplyTo(value: unknown, prefix: string): value is string {
  return typeof value === 'string' && value.length > prefix.length && value.length <= 256 && value.startsWith(prefix) && !/\s/.test(value);
}

function validId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_REQUEST_ID_LENGTH && value.trim() === value;
}

const FILTER_CLAUSES = ['must', 'should', 'mustNot'] as const;

/**
 * The public filter language, checked field by field: anything it does not define (an operator,
 * a nested filter, a raw Qdrant key) is refused with `invalid-filter` rather than passed on.
 */
export function parseSearchFilter(input: unknown): SearchFilter {
  if (!isPlainObject(input)) throw filterError('filter', 'must be an object { must?, should?, mustNot? }');
  const unknown = Object.keys(input).filter((k) => !(FILTER_CLAUSES as readonly string[]).includes(k));
  if (unknown.length > 0) throw filterError('filter', `unknown clause(s) ${unknown.join(', ')}; expected must, should, mustNot`);
  const filter: SearchFilter = {};
  let total = 0;
  for (const clause of FILTER_CLAUSES) {
    const raw = input[clause];
    if (raw === undefined) continue;
    if (!Array.isArray(raw)) throw filterError(`filter.${clause}`, 'must be an array of conditions');
    total += raw.length;
    if (total > MAX_FILTER_CONDITIONS) throw filterError('filter', `has more than ${MAX_FILTER_CONDITIONS} conditions`);
    filter[clause] = raw.map((condition, i) => parseCondition(condition, `filter.${clause}[${i}]`));
  }
  return filter;
}

function parseCondition(input: unknown, path: string): FilterCondition {
  if (!isPlainObject(input)) throw filterError(path, 'must be an object { key, match } or { key, range }');
  const { key } = input;
  if (typeof key !== 'string' || !METADATA_KEY_PATTERN.test(key)) {
    throw filterError(`${path}.key`, `must be a metadata field name matching ${String(METADATA_KEY_PATTERN)}`);
  }
  const operators = Object.keys(input).filter((k) => k !== 'key');
  if (operators.length !== 1) {
    throw filterError(path, `needs exactly one operator (match or range), got ${operators.length === 0 ? 'none' : operators.join(', ')}`);
  }
  const operator = operators[0];
  if (operator === 'match') return { key, match: parseMatch(input.match, `${path}.match`) };
  if (operator === 'range') return { key, range: parseRange(input.range, `${path}.range`) };
  throw filterError(path, `unknown operator "${operator}"; expected match or range`);
}

function parseMatch(input: unknown, path: string): MatchCondition {
  if (!isPlainObject(input)) throw filterError(path, 'must be { value } or { any: [...] }');
  const keys = Object.keys(input);
  if (keys.length !== 1 || (keys[0] !== 'value' && keys[0] !== 'any')) {
    throw filterError(path, `must have exactly one of value or any, got ${keys.join(', ') || 'nothing'}`);
  }
  if (keys[0] === 'value') {
    const value = input.value;
    // Qdrant matches keywords, integers and booleans exactly; a float would never match reliably.
    if (
      (typeof value === 'string' && isWellFormed(value)) ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isSafeInteger(value))
    ) {
      return { value };
    }
    throw filterError(`${path}.value`, 'must be a string (well-formed Unicode), a whole number or a boolean');
  }
  const values = input.any;
  if (!Array.isArray(values) || values.length === 0 || values.length > MAX_MATCH_ANY_VALUES) {
    throw filterError(`${path}.any`, `must be a non-empty array of at most ${MAX_MATCH_ANY_VALUES} values`);
  }
  if (values.every((v): v is string => typeof v === 'string' && isWellFormed(v))) return { any: values };
  if (values.every((v): v is number => typeof v === 'number' && Number.isSafeInteger(v))) return { any: values };
  throw filterError(`${path}.any`, 'must hold only strings (well-formed Unicode) or only whole numbers');
}

function parseRange(input: unknown, path: string): RangeCondition {
  if (!isPlainObject(input)) throw filterError(path, 'must be an object with gt, gte, lt and/or lte');
  const range: RangeCondition = {};
  const keys = Object.keys(input);
  if (keys.length === 0) throw filterError(path, 'needs at least one of gt, gte, lt, lte');
  for (const bound of keys) {
    if (bound !== 'gt' && bound !== 'gte' && bound !== 'lt' && bound !== 'lte') {
      throw filterError(path, `unknown bound "${bound}"; expected gt, gte, lt, lte`);
    }
    const value = input[bound];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw filterError(`${path}.${bound}`, 'must be a finite number');
    range[bound] = value;
  }
  return range;
}

function filterError(path: string, message: string): ContractError<SearchErrorCode> {
  return new ContractError<SearchErrorCode>('invalid-filter', `${path} ${message}`);
}

export function isErrorReply(reply: SearchReplyV1): reply is SearchErrorReplyV1 {
  return 'error' in reply;
}

/**
 * A reply from Redis -> typed reply. Checks the shape the client relies on; a reply from a newer
 * consumer with extra fields is accepted.
 */
export function decodeSearchReply(text: string): SearchReplyV1 {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ContractError<SearchErrorCode>('invalid-json', `reply is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isPlainObject(parsed) || parsed.schemaVersion !== SEARCH_SCHEMA_VERSION || typeof parsed.id !== 'string') {
    throw new ContractError<SearchErrorCode>('invalid-request', 'reply lacks schemaVersion 1 or id');
  }
  if (isPlainObject(parsed.error)) {
    const { code, message } = parsed.error;
    if (typeof code !== 'string' || typeof message !== 'string')
      throw new ContractError<SearchErrorCode>('invalid-request', 'reply error lacks code or message');
    return parsed as unknown as SearchErrorReplyV1;
  }
  if (!Array.isArray(parsed.hits) || typeof parsed.model !== 'string' || typeof parsed.tookMs !== 'number') {
    throw new ContractError<SearchErrorCode>('invalid-request', 'reply lacks hits, model or tookMs');
  }
  return parsed as unknown as SearchHitsReplyV1;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
