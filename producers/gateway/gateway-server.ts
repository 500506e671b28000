import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  contextFromValues,
  inSpanUnder,
  isSearchMode,
  MAX_QUERY_CHARS,
  parseSearchFilter,
  SEARCH_MODES,
  SearchSchemaError,
  SpanKind,
  type MediaQuery,
  type SearchErrorCode,
  type SearchFilter,
  type SearchMode,
} from '../../topology/index.ts';
import {
  parseFilterArgs,
  SearchClientClosedError,
  SearchRequestError,
  SearchTimeoutError,
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
} from '../search-client/index.ts';
import type { RateLimit } from './api-keys.ts';
import { chooseTenant, openAuthenticator, type Authenticator, type Principal } from './authenticator.ts';
import { RateLimiter } from './rate-limiter.ts';

/** What the gateway needs from a SearchClient. */
export interface GatewaySearcher {
  search(query: SearchQuery, options?: SearchOptions): Promise<SearchResult>;
  isReady(): boolean;
}

export interface GatewayLimits {
  maxBodyBytes: number;
  /** Request target (path and query string) in bytes. */
  maxUrlBytes: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = { maxBodyBytes: 64 * 1024, maxUrlBytes: 8 * 1024 };

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
  /** Called once per request, after the response was written. */
  onRequest?: (entry: { path: string; status: number; ms: number }) => void;
}

export interface RunningGateway {
  port: number;
  close(): Promise<void>;
}

/** Error codes of the gateway's JSON errors: the query consumer's, plus the HTTP layer's own. */
export type GatewayErrorCode =
  | SearchErrorCode
  | 'unauthorized'
  | 'forbidden'
  | 'rate-limited'
  | 'payload-too-large'
  | 'uri-too-long'
  | 'headers-too-large'
  | 'unsupported-media-type'
  | 'not-found'
  | 'method-not-allowed'
  | 'request-timeout';

type GatewayError = { status: number; code: GatewayErrorCode; message: string; headers?: Record<string, string> };

const SEARCH_PARAMS = new Set(['q', 'k', 'filter', 'tenant', 'mode']);
const BODY_FIELDS = new Set(['q', 'k', 'filter', 'tenant', 'mode', 'image', 'audio']);
/** A request (headers and body) must arrive within this; slow senders are cut off with 408. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small HTTP front on the request/reply path:
 *   GET  /search?q=<text>&k=<n>&filter=<key=value>&filter=…&tenant=<t>&mode=<dense|sparse|hybrid>  -> SearchResult JSON
 *   POST /search  {"q": "...", "k": 10, "filter": {must, should, mustNot} | ["key=value", …], "tenant": "t", "mode": "hybrid"}
 *   GET  /healthz  -> 200 while the process runs
 *   GET  /readyz   -> 200 once Kafka and Redis are connected, 503 otherwise
 * The tenant searched comes from the request's credential (see authenticator.ts); `tenant` only
 * picks among the tenants the credential allows. Errors are JSON `{ error: { code, message } }`.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const limiter = new RateLimiter();
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
    const started = performance.now();
    void route(request, response, options, limiter).then((status) =>
      options.onRequest?.({ path: safePath(request.url), status, ms: performance.now() - started }),
    );
  });
  // Requests Node's parser refuses (oversized heads, broken framing, timeouts) get a JSON error too.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket));
  // Node hands CONNECT to this event and would otherwise drop the connection without an answer.
  server.on('connect', (_request: IncomingMessage, socket: Duplex) =>
    writeRaw(socket, 405, { error: { code: 'method-not-allowed', message: 'CONNECT is not supported' } }, { allow: 'GET, HEAD, POST' }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  let closing: Promise<void> | undefined;
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      })),
  };
}

async function route(request: IncomingMessage, response: ServerResponse, options: GatewayOptions, limiter: RateLimiter): Promise<number> {
  try {
    const limits = options.limits ?? DEFAULT_GATEWAY_LIMITS;
    const target = request.url ?? '/';
    if (Buffer.byteLength(target) > limits.maxUrlBytes) {
      return fail(response, { status: 414, code: 'uri-too-long', message: `the request target is longer than ${limits.maxUrlBytes} bytes` });
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limits.maxBodyBytes) return tooLarge(response, limits);
    let url: URL;
    try {
      url = new URL(target, 'http://gateway');
    } catch {
      return fail(response, { status: 400, code: 'invalid-request', message: 'the request target is not a URL path' });
    }
    const method = request.method ?? 'GET';
    const allowed = url.pathname === '/search' ? ['GET', 'HEAD', 'POST'] : ['GET', 'HEAD'];
    if (!allowed.includes(method)) {
      return fail(response, { status: 405, code: 'method-not-allowed', message: `${url.pathname} supports ${allowed.join(', ')}`, headers: { allow: allowed.join(', ') } });
    }
    switch (url.pathname) {
      case '/healthz':
        return send(response, 200, { ok: true });
      case '/readyz': {
        const ready = (options.ready ?? (() => options.searcher.isReady()))();
        return send(response, ready ? 200 : 503, { ok: ready });
      }
      case '/search':
        return await search(request, response, url, options, limiter, limits);
      default:
        return fail(response, { status: 404, code: 'not-found', message: `no route ${url.pathname}` });
    }
  } catch (error) {
    if (response.headersSent) {
      response.destroy();
      return 500;
    }
    return fail(response, { status: 500, code: 'internal', message: error instanceof Error ? error.message : String(error) });
  }
}

async function search(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: GatewayOptions,
  limiter: RateLimiter,
  limits: GatewayLimits,
): Promise<number> {
  const authenticator = options.authenticator ?? openAuthenticator;
  const auth = await authenticator.authenticate(request.headers);
  if (!auth.ok) {
    if (auth.status === 503) return fail(response, { status: 503, code: 'unavailable', message: auth.message });
    const challenge = auth.error ? `${authenticator.challenge}, error="${auth.error}"` : authenticator.challenge;
    return fail(response, { status: 401, code: 'unauthorized', message: auth.message, headers: { 'www-authenticate': challenge } });
  }
  const limited = rateLimit(auth.principal, options.rateLimit ?? null, limiter);
  if (limited) return fail(response, limited);

  const parsed = request.method === 'POST' ? await bodyParams(request, limits) : queryParams(url.searchParams);
  if ('status' in parsed) return fail(response, parsed);
  const tenant = chooseTenant(auth.principal, parsed.tenant);
  if (!tenant.ok) return fail(response, { status: tenant.status, code: tenant.status === 403 ? 'forbidden' : 'invalid-request', message: tenant.message });

  const topK = parsed.topK ?? options.defaultTopK ?? 10;
  // The caller's W3C trace context (if any) is the parent of this request's server span, so its
  // trace continues through the search client, the query consumer and Qdrant.
  const caller = contextFromValues({ traceparent: request.headers.traceparent, tracestate: request.headers.tracestate });
  return inSpanUnder(caller, 'searchbus.gateway search', SpanKind.SERVER, { 'http.request.method': request.method ?? 'GET', 'url.path': url.pathname }, async (span) => {
    const status = await searchAndRespond(response, options, parsed, tenant.tenant, topK);
    span.setAttribute('http.response.status_code', status);
    return status;
  });
}

async function searchAndRespond(
  response: ServerResponse,
  options: GatewayOptions,
  parsed: SearchParams,
  tenant: string | undefined,
  topK: number,
): Promise<number> {
  try {
    const result = await options.searcher.search(
      {
        ...(parsed.example ?? { text: parsed.text }),
        topK,
        ...(parsed.filter ? { filter: parsed.filter } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
        ...(parsed.mode !== undefined ? { mode: parsed.mode } : {}),
      },
      options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
    );
    return send(response, 200, result);
  } catch (error) {
    if (error instanceof SearchRequestError) return fail(response, searchError(error.code, error.message.replace(/^[a-z-]+: /, '')));
    if (error instanceof SearchTimeoutError) return fail(response, { status: 504, code: 'unavailable', message: error.message });
    if (error instanceof SearchClientClosedError) return fail(response, { status: 503, code: 'unavailable', message: error.message });
    throw error;
  }
}

function rateLimit(principal: Principal, fallback: RateLimit | null, limiter: RateLimiter): GatewayError | null {
  const limit = principal.rateLimit ?? fallback;
  // Without authentication there is no caller to tell apart (a proxy in front is one address).
  if (!limit || principal.tenants === 'any') return null;
  const decision = limiter.take(principal.id, limit);
  if (decision.allowed) return null;
  return {
    status: 429,
    code: 'rate-limited',
    message: `more than ${limit.perSecond} searches per second (burst ${limit.burst}) with this credential`,
    headers: { 'retry-after': String(decision.retryAfterSeconds) },
  };
}

interface SearchParams {
  text: string;
  /** A query by example from a JSON body: inline base64 only (a uri would let a caller make the query consumer read its files). */
  example?: { image: MediaQuery } | { audio: MediaQuery };
  topK: number | undefined;
  filter: SearchFilter | undefined;
  tenant: string | null;
  mode: SearchMode | undefined;
}

function queryParams(params: URLSearchParams): SearchParams | GatewayError {
  const unknown = [...new Set(params.keys())].filter((k) => !SEARCH_PARAMS.has(k));
  if (unknown.length > 0) return invalid('invalid-request', `unknown parameter(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected q, k, filter, tenant, mode`);
  for (const name of ['q', 'k', 'tenant', 'mode']) {
    if (params.getAll(name).length > 1) return invalid('invalid-request', `${name} is given more than once`);
  }
  const kRaw = params.get('k');
  let topK: number | undefined;
  if (kRaw !== null && kRaw !== '') {
    if (!/^-?\d{1,16}$/.test(kRaw.trim())) return invalid('invalid-top-k', `k must be a whole number, got ${JSON.stringify(kRaw.slice(0, 64))}`);
    topK = Number(kRaw);
  }
  return finish(params.get('q') ?? '', topK, () => parseFilterArgs(params.getAll('filter')), params.get('tenant'), params.get('mode') ?? undefined);
}

async function bodyParams(request: IncomingMessage, limits: GatewayLimits): Promise<SearchParams | GatewayError> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return { status: 415, code: 'unsupported-media-type', message: 'POST /search takes Content-Type: application/json' };
  }
  const body = await readBody(request, limits.maxBodyBytes);
  if (body === null) return { status: 413, code: 'payload-too-large', message: `the body is larger than ${limits.maxBodyBytes} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return invalid('invalid-json', `the body is not JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return invalid('invalid-request', 'the body must be a JSON object');
  const fields = json as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !BODY_FIELDS.has(k));
  if (unknown.length > 0) return invalid('invalid-request', `unknown field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}; expected q, k, filter, tenant, mode`);
  const { q, k, filter, tenant, mode, image, audio } = fields;
  let example: SearchParams['example'];
  if (image !== undefined || audio !== undefined) {
    const kind = image !== undefined ? 'image' : 'audio';
    const given = (image ?? audio) as Record<string, unknown> | null;
    if ([q, image, audio].filter((v) => v !== undefined).length !== 1) return invalid('invalid-request', 'give exactly one of q, image and audio');
    if (typeof given !== 'object' || given === null || Array.isArray(given) || typeof given.data !== 'string' || Object.keys(given).some((f) => f !== 'data' && f !== 'type')) {
      return invalid('invalid-request', `${kind} must be { data: <base64>, type?: <MIME type> } (no uri through the gateway)`);
    }
    if (given.type !== undefined && typeof given.type !== 'string') return invalid('invalid-request', `${kind}.type must be a MIME type`);
    const media: MediaQuery = { data: given.data, ...(typeof given.type === 'string' ? { type: given.type } : {}) };
    example = kind === 'image' ? { image: media } : { audio: media };
  }
  if (q !== undefined && typeof q !== 'string') return invalid('invalid-request', 'q must be a string');
  if (k !== undefined && (typeof k !== 'number' || !Number.isSafeInteger(k))) return invalid('invalid-top-k', 'k must be a whole number');
  if (tenant !== undefined && typeof tenant !== 'string') return invalid('invalid-request', 'tenant must be a string');
  const parseFilter = (): SearchFilter | undefined => {
    if (filter === undefined || filter === null) return undefined;
    if (Array.isArray(filter)) {
      if (!filter.every((f): f is string => typeof f === 'string')) throw new SearchSchemaError('invalid-filter', 'filter must be an object or an array of "key=value" strings');
      return parseFilterArgs(filter);
    }
    return parseSearchFilter(filter);
  };
  const params = finish(example ? 'example' : (q ?? ''), k, parseFilter, tenant ?? null, mode);
  return example && !('status' in params) ? { ...params, example } : params;
}

function finish(
  text: string,
  topK: number | undefined,
  filter: () => SearchFilter | undefined,
  tenant: string | null,
  mode: unknown,
): SearchParams | GatewayError {
  // Checked here too, so a request the query consumer would refuse costs no trip over the bus.
  if (text.trim() === '') return invalid('empty-query', 'q is empty');
  if (mode !== undefined && !isSearchMode(mode)) return invalid('invalid-mode', `mode must be one of ${SEARCH_MODES.join(', ')}`);
  if (text.length > MAX_QUERY_CHARS) return invalid('invalid-request', `q is longer than ${MAX_QUERY_CHARS} characters`);
  try {
    return { text, topK, filter: filter(), tenant, mode };
  } catch (error) {
    if (error instanceof SearchSchemaError) return invalid(error.code, error.message);
    throw error;
  }
}

/** The body, or null once it passes `max` bytes (the rest is not read; the connection is closed after the answer). */
function readBody(request: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        request.off('data', onData);
        request.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function invalid(code: SearchErrorCode, message: string): GatewayError {
  return { status: 400, code, message };
}

function searchError(code: SearchErrorCode, message: string): GatewayError {
  return { status: code === 'unavailable' ? 503 : code === 'internal' ? 500 : 400, code, message };
}

function tooLarge(response: ServerResponse, limits: GatewayLimits): number {
  return fail(response, { status: 413, code: 'payload-too-large', message: `the body is larger than ${limits.maxBodyBytes} bytes` });
}

function fail(response: ServerResponse, error: GatewayError): number {
  // After 413 the unread rest of the body would be parsed as the next request: close instead.
  const headers = error.status === 413 ? { ...error.headers, connection: 'close' } : (error.headers ?? {});
  return send(response, error.status, { error: { code: error.code, message: error.message } }, headers);
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : text);
  return status;
}

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message]: [number, GatewayErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'the request line and headers are larger than 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', `the request did not arrive within ${REQUEST_TIMEOUT_MS} ms`]
        : [400, 'invalid-request', `malformed HTTP request (${error.code ?? 'parse error'})`];
  writeRaw(socket, status, { error: { code, message } });
}

/** An answer written straight to the socket (no ServerResponse exists), then the connection closed. */
function writeRaw(socket: Duplex, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(payload);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
}

function safePath(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://gateway').pathname.slice(0, 256);
  } catch {
    return '(invalid)';
  }
}
