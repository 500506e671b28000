import { DEFAULT_MEDIA_INLINE_MAX_BYTES, type MatchEventV1, type Watch } from '../../topology/index.ts';
import type { SearchOptions, SearchQuery, SearchResult } from '../../producers/search-client/index.ts';
import type { AdminBackend } from './admin-api.ts';
import type { RateLimit } from './api-keys.ts';
import type { Authenticator } from './authenticator.ts';

/** What the gateway needs from a SearchClient. */
export interface GatewaySearcher {
  search(query: SearchQuery, options?: SearchOptions): Promise<SearchResult>;
  isReady(): boolean;
}

/** What the gateway needs from a WatchClient (producers/watch-client). */
export interface GatewayWatches {
  add(input: unknown): Promise<Watch>;
  list(tenant?: string): Promise<Watch[]>;
  remove(id: string, tenant?: string): Promise<void>;
  tail(
    filter: { watchId?: string; tenant?: string },
    onMatch: (match: MatchEventV1) => void,
  ): { ready: Promise<void>; close(): Promise<void> };
}

export interface GatewayLimits {
  maxBodyBytes: number;
  /** Request target (path and query string) in bytes. */
  maxUrlBytes: number;
  /**
   * Largest file of a multipart `POST /search` (a query by example travels inline, so this is
   * SEARCHBUS_MEDIA_INLINE_MAX_BYTES); the whole multipart body may hold this plus `maxBodyBytes`.
   * Default: the inline limit's default.
   */
  maxUploadBytes?: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  maxBodyBytes: 64 * 1024,
  maxUrlBytes: 8 * 1024,
  maxUploadBytes: DEFAULT_MEDIA_INLINE_MAX_BYTES,
};

export interface GatewayOptions {
  searcher: GatewaySearcher;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  timeoutMs?: number;
  defaultTopK?: number;
  /** Default: no authentication, the `tenant` parameter is trusted. */
  authenticator?: Authenticator;
  /** Per-credential limit for credentials without their own; null or absent: none. */
  rateLimit?: RateLimit | null;
  limits?: GatewayLimits;
  /** /readyz; default: the searcher's isReady(). */
  ready?: () => boolean;
  /** /readyz names each dependency and whether it answers, so an operator sees which one is down. */
  checks?: () => Record<string, boolean>;
  /** Called once per request, after the response was written. */
  onRequest?: (entry: { path: string; status: number; ms: number }) => void;
  /** The /watches endpoints (standing queries and their matches over SSE); absent: they answer 404. */
  watches?: GatewayWatches;
  /** The /admin/ endpoints (eval sets, gated rebuilds); absent: /admin/ answers 404. */
  admin?: GatewayAdmin;
}

export interface GatewayAdmin {
  backend: AdminBackend;
  /** Body limit of POST /admin/eval-sets (an uploaded set); other bodies keep maxBodyBytes. */
  maxEvalSetBytes: number;
  /** The shadow rate of a rebuild that names none (SEARCHBUS_SHADOW_SAMPLE_RATE). */
  shadowSampleRate: number;
}

/** A request (headers and body) must arrive within this; slow senders are cut off with 408. */
export const REQUEST_TIMEOUT_MS = 30_000;

export function uploadLimit(limits: GatewayLimits): number {
  return limits.maxUploadBytes ?? DEFAULT_MEDIA_INLINE_MAX_BYTES;
}

/** The file, plus fields and framing bounded by the JSON body limit. */
export function multipartBodyLimit(limits: GatewayLimits): number {
  return uploadLimit(limits) + limits.maxBodyBytes;
}
