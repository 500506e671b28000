import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SearchSchemaError, type SearchErrorCode } from '../../topology/index.ts';
import {
  parseFilterArgs,
  SearchClientClosedError,
  SearchRequestError,
  SearchTimeoutError,
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
} from '../search-client/index.ts';

/** What the gateway needs from a SearchClient. */
export interface GatewaySearcher {
  search(query: SearchQuery, options?: SearchOptions): Promise<SearchResult>;
  isReady(): boolean;
}

export interface GatewayOptions {
  searcher: GatewaySearcher;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  timeoutMs?: number;
  defaultTopK?: number;
  /** Called once per request, after the response was written. */
  onRequest?: (entry: { path: string; status: number; ms: number }) => void;
}

export interface RunningGateway {
  port: number;
  close(): Promise<void>;
}

/**
 * A small HTTP front on the request/reply path:
 *   GET /search?q=<text>&k=<n>&filter=<key=value>&filter=…&tenant=<t>  -> SearchResult JSON
 *   GET /healthz  -> 200 while the process runs
 *   GET /readyz   -> 200 once Kafka and Redis are connected, 503 before
 * Errors are JSON `{ error: { code, message } }` with 400 (bad request), 503 (unavailable),
 * 504 (no reply in time) or 500. It trusts its caller with `tenant`: put it behind whatever
 * authenticates users and sets the tenant for them.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const server = createServer((request, response) => {
    const started = performance.now();
    void route(request, response, options).then((status) =>
      options.onRequest?.({ path: new URL(request.url ?? '/', 'http://gateway').pathname, status, ms: performance.now() - started }),
    );
  });
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

async function route(request: IncomingMessage, response: ServerResponse, options: GatewayOptions): Promise<number> {
  const url = new URL(request.url ?? '/', 'http://gateway');
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return send(response, 405, { error: { code: 'invalid-request', message: 'only GET is supported' } }, { allow: 'GET, HEAD' });
    }
    switch (url.pathname) {
      case '/healthz':
        return send(response, 200, { ok: true });
      case '/readyz': {
        const ready = options.searcher.isReady();
        return send(response, ready ? 200 : 503, { ok: ready });
      }
      case '/search':
        return await search(url.searchParams, response, options);
      default:
        return send(response, 404, { error: { code: 'invalid-request', message: `no route ${url.pathname}` } });
    }
  } catch (error) {
    return send(response, 500, { error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } });
  }
}

async function search(params: URLSearchParams, response: ServerResponse, options: GatewayOptions): Promise<number> {
  const kRaw = params.get('k');
  const topK = kRaw === null || kRaw === '' ? (options.defaultTopK ?? 10) : Number(kRaw);
  if (!Number.isInteger(topK)) return sendError(response, 'invalid-top-k', `k must be a whole number, got "${kRaw}"`);
  let filter;
  try {
    filter = parseFilterArgs(params.getAll('filter'));
  } catch (error) {
    if (error instanceof SearchSchemaError) return sendError(response, error.code, error.message);
    throw error;
  }
  const tenant = params.get('tenant');
  try {
    const result = await options.searcher.search(
      { text: params.get('q') ?? '', topK, ...(filter ? { filter } : {}), ...(tenant !== null && tenant !== '' ? { tenant } : {}) },
      options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
    );
    return send(response, 200, result);
  } catch (error) {
    if (error instanceof SearchRequestError) return sendError(response, error.code, error.message.replace(/^[a-z-]+: /, ''));
    if (error instanceof SearchTimeoutError) return send(response, 504, { error: { code: 'unavailable', message: error.message } });
    if (error instanceof SearchClientClosedError) return send(response, 503, { error: { code: 'unavailable', message: error.message } });
    throw error;
  }
}

function sendError(response: ServerResponse, code: SearchErrorCode, message: string): number {
  const status = code === 'unavailable' ? 503 : code === 'internal' ? 500 : 400;
  return send(response, status, { error: { code, message } });
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : text);
  return status;
}
