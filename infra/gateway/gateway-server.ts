import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { openAuthenticator } from './authenticator.ts';
import { DEFAULT_GATEWAY_LIMITS, REQUEST_TIMEOUT_MS, uploadLimit, type GatewayOptions } from './gateway-options.ts';
import { answerClientError, writeRaw } from './gateway-responses.ts';
import { route, type GatewayContext } from './gateway-routes.ts';
import { RateLimiter } from './rate-limiter.ts';
import { loadSearchPage } from './search-page.ts';

export interface RunningGateway {
  port: number;
  close(): Promise<void>;
}

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
 * Request parameters are read in gateway-parameters.ts, answers written by gateway-responses.ts,
 * and each path handled in gateway-routes.ts.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const limits = options.limits ?? DEFAULT_GATEWAY_LIMITS;
  const page = await loadSearchPage({
    uploadMaxBytes: uploadLimit(limits),
    credentialRequired: (options.authenticator ?? openAuthenticator) !== openAuthenticator,
    watches: options.watches !== undefined,
  });
  const gateway: GatewayContext = { options, limits, limiter: new RateLimiter(), page };
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
    const started = performance.now();
    void route(request, response, gateway).then((status) =>
      options.onRequest?.({ path: safePath(request.url), status, ms: performance.now() - started }),
    );
  });
  // Requests Node's parser refuses (oversized heads, broken framing, timeouts) get a JSON error too.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, REQUEST_TIMEOUT_MS));
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

function safePath(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://gateway').pathname.slice(0, 256);
  } catch {
    return '(invalid)';
  }
}
