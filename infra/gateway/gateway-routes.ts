import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  contextFromValues,
  inSpanUnder,
  isSearchErrorCode,
  RejectedError,
  SpanKind,
  TimeoutError,
  UnavailableError,
} from '../../topology/index.ts';
import { handleAdmin, isAdminPath, matchAdminRoute } from './admin-api.ts';
import type { RateLimit } from './api-keys.ts';
import { chooseTenant, openAuthenticator, type Principal } from './authenticator.ts';
import { multipartBodyLimit, uploadLimit, type GatewayLimits, type GatewayOptions } from './gateway-options.ts';
import { handleWatches, isWatchesPath } from './watches-api.ts';
import { AFTER_HEADER, bodyParams, formParams, jsonBody, queryParams, withAfter, type SearchParams } from './gateway-parameters.ts';
import { fail, methodNotAllowed, notFound, searchError, send, sendAsset, tooLarge, type GatewayError } from './gateway-responses.ts';
import { isMultipart } from './multipart-form.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { pageAsset, type SearchPage } from './search-page.ts';

/** What lives as long as the server: every request is handled with it. */
export interface GatewayContext {
  readonly options: GatewayOptions;
  readonly limits: GatewayLimits;
  readonly limiter: RateLimiter;
  readonly page: SearchPage;
}

/** One request, its target already checked and parsed. */
interface Exchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  /** As sent, before URL parsing normalised it. */
  readonly target: string;
  readonly url: URL;
  readonly method: string;
  readonly maxBody: number;
}

/** Resolves to the status written. */
type Handler = (exchange: Exchange, gateway: GatewayContext) => number | Promise<number>;

const READ_ONLY: readonly string[] = ['GET', 'HEAD'];

/** Exact paths. /admin/ has its own table (admin-api.ts); any other path is a page asset or a 404. */
const ROUTES: ReadonlyMap<string, { methods: readonly string[]; handle: Handler }> = new Map([
  ['/healthz', { methods: READ_ONLY, handle: healthz }],
  ['/readyz', { methods: READ_ONLY, handle: readyz }],
  ['/search', { methods: ['GET', 'HEAD', 'POST'], handle: search }],
]);

export async function route(request: IncomingMessage, response: ServerResponse, gateway: GatewayContext): Promise<number> {
  try {
    return await dispatch(request, response, gateway);
  } catch (error) {
    if (response.headersSent) {
      response.destroy();
      return 500;
    }
    return fail(response, { status: 500, code: 'internal', message: error instanceof Error ? error.message : String(error) });
  }
}

async function dispatch(request: IncomingMessage, response: ServerResponse, gateway: GatewayContext): Promise<number> {
  const { limits } = gateway;
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
  const maxBody = bodyLimit(request, method, url, gateway);
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBody) return tooLarge(response, maxBody);
  const exchange: Exchange = { request, response, target, url, method, maxBody };
  if (isAdminPath(url.pathname)) return await admin(exchange, gateway);
  if (isWatchesPath(url.pathname)) return await watches(exchange, gateway);
  const matched = ROUTES.get(url.pathname);
  const allowed = matched?.methods ?? READ_ONLY;
  if (!allowed.includes(method)) return fail(response, methodNotAllowed(url.pathname, allowed));
  return await (matched?.handle ?? page)(exchange, gateway);
}

function bodyLimit(request: IncomingMessage, method: string, url: URL, { options, limits }: GatewayContext): number {
  if (method === 'POST' && url.pathname === '/admin/eval-sets' && options.admin) return options.admin.maxEvalSetBytes;
  // A watch by example carries its medium inline, base64.
  if (method === 'POST' && url.pathname === '/watches') return Math.ceil((uploadLimit(limits) * 4) / 3) + limits.maxBodyBytes;
  return isMultipart(request.headers['content-type']) ? multipartBodyLimit(limits) : limits.maxBodyBytes;
}

function healthz({ response }: Exchange): number {
  return send(response, 200, { ok: true });
}

function readyz({ response }: Exchange, { options }: GatewayContext): number {
  const ready = (options.ready ?? (() => options.searcher.isReady()))();
  return send(response, ready ? 200 : 503, { ok: ready, ...(options.checks ? { checks: options.checks() } : {}) });
}

function page({ response, target, url }: Exchange, gateway: GatewayContext): number {
  // The page and its assets: static, no data, so no credential (its searches carry one). Only
  // at their exact paths: `//search` parses as the path `/` of another host, and stays a 404.
  const asset = target.split('?')[0] === url.pathname ? pageAsset(gateway.page, url.pathname) : undefined;
  if (asset) return sendAsset(response, asset);
  return fail(response, notFound(url.pathname));
}

async function search({ request, response, url }: Exchange, gateway: GatewayContext): Promise<number> {
  const principal = await authorize(request, gateway);
  if ('status' in principal) return fail(response, principal);

  const parsed =
    request.method !== 'POST'
      ? queryParams(url.searchParams)
      : isMultipart(request.headers['content-type'])
        ? await formParams(request, gateway.limits)
        : await bodyParams(request, gateway.limits);
  if ('status' in parsed) return fail(response, parsed);
  const withHeader = withAfter(parsed, parsed.after, request.headers[AFTER_HEADER]);
  if ('status' in withHeader) return fail(response, withHeader);
  const tenant = chooseTenant(principal, parsed.tenant);
  if (!tenant.ok)
    return fail(response, {
      status: tenant.status,
      code: tenant.status === 403 ? 'forbidden' : 'invalid-request',
      message: tenant.message,
    });

  const topK = parsed.topK ?? gateway.options.defaultTopK ?? 10;
  // The caller's W3C trace context (if any) is the parent of this request's server span, so its
  // trace continues through the search client, the query consumer and Qdrant.
  const caller = contextFromValues({ traceparent: request.headers.traceparent, tracestate: request.headers.tracestate });
  return inSpanUnder(
    caller,
    'searchbus.gateway search',
    SpanKind.SERVER,
    { 'http.request.method': request.method ?? 'GET', 'url.path': url.pathname },
    async (span) => {
      const status = await searchAndRespond(response, gateway.options, withHeader, tenant.tenant, topK);
      span.setAttribute('http.response.status_code', status);
      return status;
    },
  );
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
        ...(parsed.after !== undefined ? { after: parsed.after } : {}),
      },
      options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
    );
    return send(response, 200, result);
  } catch (error) {
    // The query consumer's error reply (its message starts with its code), no reply in time, or no way to ask.
    if (error instanceof RejectedError && isSearchErrorCode(error.code))
      return fail(response, searchError(error.code, error.message.replace(/^[a-z-]+: /, ''), error.details));
    if (error instanceof TimeoutError) return fail(response, { status: 504, code: 'unavailable', message: error.message });
    if (error instanceof UnavailableError) return fail(response, { status: 503, code: 'unavailable', message: error.message });
    throw error;
  }
}

async function watches(exchange: Exchange, gateway: GatewayContext): Promise<number> {
  const backend = gateway.options.watches;
  if (!backend) return fail(exchange.response, notFound(exchange.url.pathname));
  const principal = await authorize(exchange.request, gateway);
  if ('status' in principal) return fail(exchange.response, principal);
  return handleWatches(exchange, principal, backend);
}

async function admin({ request, response, url, method, maxBody }: Exchange, gateway: GatewayContext): Promise<number> {
  const settings = gateway.options.admin;
  if (!settings) return fail(response, notFound(url.pathname));
  const matched = matchAdminRoute(method, url.pathname);
  if (!matched.ok) return fail(response, matched.status === 404 ? notFound(url.pathname) : methodNotAllowed(url.pathname, matched.allow));
  const principal = await authorize(request, gateway);
  if ('status' in principal) return fail(response, principal);
  if (!principal.admin)
    return fail(response, {
      status: 403,
      code: 'forbidden',
      message: 'this credential may search but not use /admin/ (an API key needs the admin scope, a JWT the searchbus:admin scope)',
    });
  const body = method === 'POST' ? await jsonBody(request, maxBody, `POST ${url.pathname}`) : { ok: true as const, value: undefined };
  if (!body.ok) return fail(response, body.error);
  const answer = await handleAdmin({ route: matched.route, principal, params: url.searchParams, body: body.value }, settings);
  return send(response, answer.status, answer.body);
}

/** The caller's principal, or the error to answer (401, 503, 429). */
async function authorize(request: IncomingMessage, { options, limiter }: GatewayContext): Promise<Principal | GatewayError> {
  const authenticator = options.authenticator ?? openAuthenticator;
  const auth = await authenticator.authenticate(request.headers);
  if (!auth.ok) {
    if (auth.status === 503) return { status: 503, code: 'unavailable', message: auth.message };
    const challenge = auth.error ? `${authenticator.challenge}, error="${auth.error}"` : authenticator.challenge;
    return { status: 401, code: 'unauthorized', message: auth.message, headers: { 'www-authenticate': challenge } };
  }
  return rateLimit(auth.principal, options.rateLimit ?? null, limiter) ?? auth.principal;
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
