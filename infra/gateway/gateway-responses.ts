import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SearchErrorCode, WatchErrorCode } from '../../topology/index.ts';
import type { AdminErrorCode } from './admin-api.ts';
import type { PageAsset } from './search-page.ts';

/** Error codes of the gateway's JSON errors: the query consumer's, plus the HTTP layer's own. */
export type GatewayErrorCode =
  | SearchErrorCode
  | AdminErrorCode
  | WatchErrorCode
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

/** An answer still to be written as `{ error: { code, message } }`. */
export type GatewayError = {
  status: number;
  code: GatewayErrorCode;
  message: string;
  headers?: Record<string, string>;
  /** `not-yet-indexed`: records still to be applied, per partition. */
  lag?: Record<string, number>;
};

export function invalid(code: SearchErrorCode | AdminErrorCode, message: string): GatewayError {
  return { status: 400, code, message };
}

export function searchError(code: SearchErrorCode, message: string, details?: Readonly<Record<string, unknown>>): GatewayError {
  // Not yet indexed is no fault of the request: the index is behind, and may catch up (retry).
  const status = code === 'unavailable' || code === 'not-yet-indexed' ? 503 : code === 'internal' ? 500 : 400;
  const lag = code === 'not-yet-indexed' && details?.lag ? { lag: details.lag as Record<string, number> } : {};
  return { status, code, message, ...lag };
}

export function notFound(pathname: string): GatewayError {
  return { status: 404, code: 'not-found', message: `no route ${pathname}` };
}

export function methodNotAllowed(pathname: string, allow: readonly string[]): GatewayError {
  return {
    status: 405,
    code: 'method-not-allowed',
    message: `${pathname} supports ${allow.join(', ')}`,
    headers: { allow: allow.join(', ') },
  };
}

export function tooLarge(response: ServerResponse, max: number): number {
  return fail(response, { status: 413, code: 'payload-too-large', message: `the body is larger than ${max} bytes` });
}

export function fail(response: ServerResponse, error: GatewayError): number {
  // After 413 the unread rest of the body would be parsed as the next request: close instead.
  const headers = error.status === 413 ? { ...error.headers, connection: 'close' } : (error.headers ?? {});
  const lag = error.lag !== undefined ? { lag: error.lag } : {};
  return send(response, error.status, { error: { code: error.code, message: error.message, ...lag } }, headers);
}

export function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : text);
  return status;
}

export function sendAsset(response: ServerResponse, asset: PageAsset): number {
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

/** The answer to a request Node's parser refused (no ServerResponse exists for it). */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, requestTimeoutMs: number): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message]: [number, GatewayErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'the request line and headers are larger than 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', `the request did not arrive within ${requestTimeoutMs} ms`]
        : [400, 'invalid-request', `malformed HTTP request (${error.code ?? 'parse error'})`];
  writeRaw(socket, status, { error: { code, message } });
}

/** An answer written straight to the socket (no ServerResponse exists), then the connection closed. */
export function writeRaw(socket: Duplex, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(payload);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
}
