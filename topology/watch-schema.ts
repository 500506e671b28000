import { ContractError } from './errors.ts';
import { DEFAULT_TENANT, isValidTenant } from './document-identity.ts';
import { modalityOf } from './media.ts';
import { MAX_QUERY_CHARS, parseSearchFilter, type SearchFilter } from './search-schema.ts';

// A watch is a standing query: text, or an example image or recording, with a tenant, an optional
// filter and a score threshold. Every document indexed in its tenant is matched against it, and each
// match is one event on `<namespace>.matches`.

export type WatchErrorCode =
  'invalid-watch' | 'empty-query' | 'invalid-filter' | 'invalid-threshold' | 'invalid-media' | 'invalid-tenant' | 'watch-not-found';

/** Used when a watch gives none; the example. Scores are cosine similarities (1 = the same direction). */
export const DEFAULT_WATCH_THRESHOLD = 0.6;
/** An inline example (decoded bytes); larger examples are not watches but corpora. */
export const MAX_WATCH_EXAMPLE_BYTES = 1024 * 1024;

/** An example medium, inline: it is kept with the watch so a rebuild to another model can embed it again. */
export interface WatchExample {
  type: string;
  data: string;
}

export type WatchQuery = { text: string } | { image: WatchExample } | { audio: WatchExample };

export interface WatchSpec {
  query: WatchQuery;
  tenant: string;
  filter?: SearchFilter;
  threshold: number;
}

export interface Watch extends WatchSpec {
  id: string;
  createdAt: string;
}

function invalid(code: WatchErrorCode, message: string): ContractError<WatchErrorCode> {
  return new ContractError<WatchErrorCode>(code, message);
}

/** A watch as a client sends it (`{ query, tenant?, filter?, threshold? }`) -> a checked spec, or a ContractError naming what is wrong. */
export function parseWatchSpec(input: unknown): WatchSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('invalid-watch', 'a watch is a JSON object');
  const w = input as Record<string, unknown>;
  const unknown = Object.keys(w).filter((k) => !['query', 'tenant', 'filter', 'threshold'].includes(k));
  if (unknown.length > 0)
    throw invalid('invalid-watch', `unknown field(s) ${unknown.join(', ')}; expected query, tenant, filter, threshold`);
  const tenant = w.tenant ?? DEFAULT_TENANT;
  if (!isValidTenant(tenant)) throw invalid('invalid-tenant', 'tenant must match [A-Za-z0-9_.-]{1,64}');
  const threshold = w.threshold ?? DEFAULT_WATCH_THRESHOLD;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < -1 || threshold > 1)
    throw invalid('invalid-threshold', 'threshold must be a number from -1 to 1 (a cosine similarity)');
  let filter: SearchFilter | undefined;
  if (w.filter !== undefined && w.filter !== null) {
    try {
      filter = parseSearchFilter(w.filter);
    } catch (error) {
      throw new ContractError<WatchErrorCode>('invalid-filter', (error as Error).message, { cause: error });
    }
  }
  return { query: parseWatchQuery(w.query), tenant, threshold, ...(filter ? { filter } : {}) };
}

function parseWatchQuery(input: unknown): WatchQuery {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid('invalid-watch', 'query must be { text } or { image: { type, data } } or { audio: { type, data } }');
  const q = input as Record<string, unknown>;
  const keys = Object.keys(q);
  if (keys.length !== 1) throw invalid('invalid-watch', 'query has exactly one of text, image, audio');
  if ('text' in q) {
    if (typeof q.text !== 'string' || q.text.trim() === '') throw invalid('empty-query', 'query.text must be a non-blank string');
    if (q.text.length > MAX_QUERY_CHARS) throw invalid('invalid-watch', `query.text is at most ${MAX_QUERY_CHARS} characters`);
    if (/\p{Cs}/u.test(q.text)) throw invalid('invalid-watch', 'query.text must be well-formed Unicode');
    return { text: q.text };
  }
  const modality = keys[0];
  if (modality !== 'image' && modality !== 'audio') throw invalid('invalid-watch', `query.${modality} is not a query (text, image, audio)`);
  const example = q[modality] as Record<string, unknown> | null;
  if (typeof example !== 'object' || example === null || typeof example.type !== 'string' || typeof example.data !== 'string')
    throw invalid('invalid-media', `query.${modality} must be { type, data (base64) }`);
  if (modalityOf(example.type) !== modality)
    throw invalid('invalid-media', `query.${modality}.type ${example.type} is not a supported ${modality} type`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(example.data) || example.data.length === 0)
    throw invalid('invalid-media', `query.${modality}.data must be non-empty base64`);
  if ((example.data.length * 3) / 4 > MAX_WATCH_EXAMPLE_BYTES + 2)
    throw invalid('invalid-media', `query.${modality} is at most ${MAX_WATCH_EXAMPLE_BYTES} bytes`);
  const value = { type: example.type, data: example.data };
  return modality === 'image' ? { image: value } : { audio: value };
}

/** What a match event says: this watch matched this document version. Key: the watch id. */
export interface MatchEventV1 {
  schemaVersion: 1;
  watchId: string;
  tenant: string;
  /** The document's id. */
  id: string;
  /** Cosine similarity of the best chunk (or medium) of the document to the watch. */
  score: number;
  /** The document's title as indexed, when it has one (so a client can show the match without a lookup). */
  title?: string;
  /** The ingest record indexed: partition, offset (the version) and the same as a position token. */
  partition: number;
  offset: string;
  position: string;
  /** When the match was found, ISO 8601. */
  matchedAt: string;
}

export function decodeMatchEvent(value: Buffer | null): MatchEventV1 {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value?.toString('utf8') ?? 'null');
  } catch (error) {
    throw new ContractError('invalid-match-event', 'a match event is JSON', { cause: error });
  }
  const e = parsed as Partial<MatchEventV1> | null;
  if (e?.schemaVersion !== 1 || typeof e.watchId !== 'string' || typeof e.id !== 'string' || typeof e.score !== 'number')
    throw new ContractError('invalid-match-event', 'a match event has schemaVersion 1, watchId, id and score');
  return e as MatchEventV1;
}
