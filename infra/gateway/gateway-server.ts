import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  contextFromValues,
  ContractError,
  DEFAULT_MEDIA_INLINE_MAX_BYTES,
  inSpanUnder,
  isSearchContractError,
  isSearchErrorCode,
  isSearchMode,
  MAX_QUERY_CHARS,
  parseSearchFilter,
  RejectedError,
  SEARCH_MODES,
  SpanKind,
  TimeoutError,
  UnavailableError,
  type MediaQuery,
  type SearchErrorCode,
  type SearchFilter,
  type SearchMode,
} from '../../topology/index.ts';
import {
  parseFilterArgs,
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
} from '../../producers/search-client/index.ts';
import { handleAdmin, isAdminPath, matchAdminRoute, type AdminBackend, type AdminErrorCode } from './admin-api.ts';
import type { RateLimit } from './api-keys.ts';
import { chooseTenant, openAuthenticator, type Authenticator, type Principal } from './authenticator.ts';
import { FILE_FIELD, isMultipart, readMultipartForm, type MultipartFailure } from './multipart-form.ts';
import { loadSearchPage, pageAsset, type SearchPage } from './search-page.ts';
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
  /**
   * Largest file of a multipart `POST /search` (a query by example travels inline, so this is
   * SEARCHBUS_MEDIA_INLINE_MAX_BYTES); the whole multipart body may hold this plus `maxBodyBytes`.
   * Default: the inline limit's default.
   */
  maxUploadBytes?: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = { maxBodyBytes: 64 * 1024, maxUrlBytes: 8 * 1024, maxUploadBytes: DEFAULT_MEDIA_INLINE_MAX_BYTES };

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

export interface RunningGateway {
  port: number;
  close(): Promise<void>;
}

/** Error codes of the gateway's JSON errors: the query consumer's, plus the HTTP layer's own. */
export type GatewayErrorCode =
  | SearchErrorCode
  | AdminErrorCode
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
const FORM_FIELDS = new Set([...SEARCH_PARAMS, FILE_FIELD]);
const BODY_FIELDS = new Set(['q', 'k', 'filter', 'tenant', 'mode', 'image', 'audio']);
/** A request (headers and body) must arrive within this; slow senders are cut off with 408. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small HTTP front on the request/reply path:
 *   GET  /search?q=<text>&k=<n>&filter=<key=value>&filter=…&tenant=<t>&mode=<dense|sparse|hybrid>  -> SearchResult JSON
 *   POST /search  {"q": "...", "k": 10, "filter": {must, should, mustNot} | ["key=value", …], "tenant": "t", "mode": "hybrid"}
 *   POST /search  multipart/form-data: the same fields, or a `file` (an image or a recording) instead of q
 *   GET  /         -> the search page (search-page.ts); it searches through POST /search
 *   GET  /healthz  -> 200 while the process runs
 *   GET  /readyz   -> 200 once Kafka and Redis are connected, 503 otherwise
 *   /admin/...     eval sets and gated rebuilds, for credentials with the admin scope (admin-api.ts)
 * The tenant searched comes from the request's credential (see authenticator.ts); `tenant` only
 * picks among the tenants the credential allows. Errors are JSON `{ error: { code, message } }`.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const limiter = new RateLimiter();
  const limits = options.limits ?? DEFAULT_GATEWAY_LIMITS;
  const page = await loadSearchPage({
    uploadMaxBytes: uploadLimit(limits),
    credentialRequired: (options.authenticator ?? openAuthenticator) !== openAuthenticator,
  });
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
    const started = performance.now();
    void route(request, response, options, limiter, page).then((status) =>
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

async function route(request: IncomingMessage, response: ServerResponse, options: GatewayOptions, limiter: RateLimiter, page: SearchPage): Promise<number> {
  try {
    const limits = options.limits ?? DEFAULT_GATEWAY_LIMITS;
    const target = request.url ?? '/';
    if (Buffer.byteLength(target) > limits.maxUrlBytes) {
      return fail(response, { status: 414, code: 'uri-too-long', message: `the request target is longer than ${limits.maxUrlBytes} bytes` });
    }
    let url: URL;
    try {
      url = new URL(target, 'http://gateway');
    } catch {
      return fail(response, { status: 400, code: 'invalid-request', message: 'the request target is not a URL path' });
    }
    const method = request.method ?? 'GET';
    const maxBody =
      method === 'POST' && url.pathname === '/admin/eval-sets' && options.admin
        ? options.admin.maxEvalSetBytes
        : isMultipart(request.headers['content-type'])
          ? multipartBodyLimit(limits)
          : limits.maxBodyBytes;
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBody) return tooLarge(response, maxBody);
    if (isAdminPath(url.pathname)) return await admin(request, response, url, options, limiter, maxBody);
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
      default: {
        // The page and its assets: static, no data, so no credential (its searches carry one). Only
        // at their exact paths: `//search` parses as the path `/` of another host, and stays a 404.
        const asset = target.split('?')[0] === url.pathname ? pageAsset(page, url.pathname) : undefined;
        if (asset) return sendAsset(response, asset);
        return fail(response, { status: 404, code: 'not-found', message: `no route ${url.pathname}` });
      }
    }
  } catch (error) {
    if (response.headersSent) {
      response.destroy();
      return 500;
    }
    return fail(response, { status: 500, code: 'internal', message: error instanceof Error ? error.message : String(error) });
  }
}

/** The caller's principal, or the error to answer (401, 503, 429). */
async function authorize(request: IncomingMessage, options: GatewayOptions, limiter: RateLimiter): Promise<Principal | GatewayError> {
  const authenticator = options.authenticator ?? openAuthenticator;
  const auth = await authenticator.authenticate(request.headers);
  if (!auth.ok) {
    if (auth.status === 503) return { status: 503, code: 'unavailable', message: auth.message };
    const challenge = auth.error ? `${authenticator.challenge}, error="${auth.error}"` : authenticator.challenge;
    return { status: 401, code: 'unauthorized', message: auth.message, headers: { 'www-authenticate': challenge } };
  }
  return rateLimit(auth.principal, options.rateLimit ?? null, limiter) ?? auth.principal;
}

async function search(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: GatewayOptions,
  limiter: RateLimiter,
  limits: GatewayLimits,
): Promise<number> {
  const principal = await authorize(request, options, limiter);
  if ('status' in principal) return fail(response, principal);

  const parsed =
    request.method !== 'POST'
      ? queryParams(url.searchParams)
      : isMultipart(request.headers['content-type'])
        ? await formParams(request, limits)
        : await bodyParams(request, limits);
  if ('status' in parsed) return fail(response, parsed);
  const tenant = chooseTenant(principal, parsed.tenant);
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
    // The query consumer's error reply (its message starts with its code), no reply in time, or no way to ask.
    if (error instanceof RejectedError && isSearchErrorCode(error.code)) return fail(response, searchError(error.code, error.message.replace(/^[a-z-]+: /, '')));
    if (error instanceof TimeoutError) return fail(response, { status: 504, code: 'unavailable', message: error.message });
    if (error instanceof UnavailableError) return fail(response, { status: 503, code: 'unavailable', message: error.message });
    throw error;
  }
}

async function admin(request: IncomingMessage, response: ServerResponse, url: URL, options: GatewayOptions, limiter: RateLimiter, maxBody: number): Promise<number> {
  const method = request.method ?? 'GET';
  const settings = options.admin;
  if (!settings) return fail(response, { status: 404, code: 'not-found', message: `no route ${url.pathname}` });
  const matched = matchAdminRoute(method, url.pathname);
  if (!matched.ok) {
    if (matched.status === 404) return fail(response, { status: 404, code: 'not-found', message: `no route ${url.pathname}` });
    return fail(response, { status: 405, code: 'method-not-allowed', message: `${url.pathname} supports ${matched.allow.join(', ')}`, headers: { allow: matched.allow.join(', ') } });
  }
  const principal = await authorize(request, options, limiter);
  if ('status' in principal) return fail(response, principal);
  if (!principal.admin) return fail(response, { status: 403, code: 'forbidden', message: 'this credential may search but not use /admin/ (an API key needs the admin scope, a JWT the searchbus:admin scope)' });
  const body = method === 'POST' ? await jsonBody(request, maxBody, `POST ${url.pathname}`) : { ok: true as const, value: undefined };
  if (!body.ok) return fail(response, body.error);
  const answer = await handleAdmin({ route: matched.route, principal, params: url.searchParams, body: body.value }, settings);
  return send(response, answer.status, answer.body);
}

/** A JSON request body within `max` bytes, or the error to answer (415, 413, 400). */
async function jsonBody(request: IncomingMessage, max: number, what: string, orElse = ''): Promise<{ ok: true; value: unknown } | { ok: false; error: GatewayError }> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return { ok: false, error: { status: 415, code: 'unsupported-media-type', message: `${what} takes Content-Type: application/json${orElse}` } };
  const body = await readBody(request, max);
  if (body === null) return { ok: false, error: { status: 413, code: 'payload-too-large', message: `the body is larger than ${max} bytes` } };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch (error) {
    return { ok: false, error: invalid('invalid-json', `the body is not JSON: ${(error as Error).message.slice(0, 200)}`) };
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
  const body = await jsonBody(request, limits.maxBodyBytes, 'POST /search', ' or multipart/form-data');
  if (!body.ok) return body.error;
  const json = body.value;
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
      if (!filter.every((f): f is string => typeof f === 'string')) throw new ContractError<SearchErrorCode>('invalid-filter', 'filter must be an object or an array of "key=value" strings');
      return parseFilterArgs(filter);
    }
    return parseSearchFilter(filter);
  };
  const params = finish(example ? 'example' : (q ?? ''), k, parseFilter, tenant ?? null, mode);
  return example && !('status' in params) ? { ...params, example } : params;
}

/** A multipart form: the fields of a GET (each at most once but `filter`), or a `file` instead of `q`. */
async function formParams(request: IncomingMessage, limits: GatewayLimits): Promise<SearchParams | GatewayError> {
  const form = await readMultipartForm(request.headers, request, {
    maxFileBytes: uploadLimit(limits),
    maxBodyBytes: multipartBodyLimit(limits),
    maxFieldBytes: MAX_QUERY_CHARS * 4,
  });
  if ('kind' in form) return formFailure(form, limits);
  const unknown = [...form.fields.keys()].filter((k) => !FORM_FIELDS.has(k));
  if (unknown.length > 0) return invalid('invalid-request', `unknown form field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}; expected q or file, k, filter, tenant, mode`);
  for (const name of ['q', 'k', 'tenant', 'mode']) {
    if ((form.fields.get(name)?.length ?? 0) > 1) return invalid('invalid-request', `${name} is given more than once`);
  }
  const one = (name: string): string | undefined => form.fields.get(name)?.[0];
  const q = one('q');
  // An empty text box sent beside a file is no text query.
  if (form.file && q !== undefined && q.trim() !== '') return invalid('invalid-request', 'give either q or a file, not both');
  const kRaw = one('k');
  let topK: number | undefined;
  if (kRaw !== undefined && kRaw.trim() !== '') {
    if (!/^-?\d{1,16}$/.test(kRaw.trim())) return invalid('invalid-top-k', `k must be a whole number, got ${JSON.stringify(kRaw.slice(0, 64))}`);
    topK = Number(kRaw);
  }
  const filters = (form.fields.get('filter') ?? []).filter((f) => f.trim() !== '');
  const mode = one('mode');
  const tenant = one('tenant');
  const params = finish(form.file ? 'example' : (q ?? ''), topK, () => parseFilterArgs(filters), tenant === undefined || tenant === '' ? null : tenant, mode === '' ? undefined : mode);
  if (!form.file || 'status' in params) return params;
  const media: MediaQuery = { data: form.file.bytes.toString('base64'), type: form.file.type };
  return { ...params, example: form.file.modality === 'image' ? { image: media } : { audio: media } };
}

function formFailure(failure: MultipartFailure, limits: GatewayLimits): GatewayError {
  switch (failure.kind) {
    case 'too-large':
      return { status: 413, code: 'payload-too-large', message: `${failure.message} (a query file may be up to ${uploadLimit(limits)} bytes)` };
    case 'unsupported-type':
      return { status: 415, code: 'unsupported-media-type', message: failure.message };
    case 'invalid':
      return invalid('invalid-request', failure.message);
  }
}

function uploadLimit(limits: GatewayLimits): number {
  return limits.maxUploadBytes ?? DEFAULT_MEDIA_INLINE_MAX_BYTES;
}

/** The file, plus fields and framing bounded by the JSON body limit. */
function multipartBodyLimit(limits: GatewayLimits): number {
  return uploadLimit(limits) + limits.maxBodyBytes;
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
    if (isSearchContractError(error)) return invalid(error.code, error.message);
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

function invalid(code: SearchErrorCode | AdminErrorCode, message: string): GatewayError {
  return { status: 400, code, message };
}

function searchError(code: SearchErrorCode, message: string): GatewayError {
  return { status: code === 'unavailable' ? 503 : code === 'internal' ? 500 : 400, code, message };
}

function tooLarge(response: ServerResponse, max: number): number {
  return fail(response, { status: 413, code: 'payload-too-large', message: `the body is larger than ${max} bytes` });
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

function sendAsset(response: ServerResponse, asset: { body: Buffer; type: string }): number {
  response.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Results are written with textContent, and nothing but the page's own files runs or loads.
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' http: https: blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  });
  response.end(response.req.method === 'HEAD' ? undefined : asset.body);
  return 200;
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
