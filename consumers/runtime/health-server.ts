import { createServer, type Server } from 'node:http';
import type { MetricsRegistry } from './metrics.ts';

export interface HealthSource {
  /** Alive: the process should not be restarted. */
  live(): boolean;
  /** Ready: connected and consuming; a load balancer may route to it. */
  ready(): boolean;
}

/** /healthz, /readyz and /metrics for a consumer process; port 0 picks a free port. */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  health: HealthSource;
  metrics: MetricsRegistry;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/metrics') {
      options.metrics.render().then(
        (text) => response.writeHead(200, { 'content-type': options.metrics.contentType }).end(text),
        (error: unknown) =>
          response.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(error as Error).message}\n`),
      );
    } else if (path === '/healthz' || path === '/livez') {
      const ok = options.health.live();
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
    } else if (path === '/readyz') {
      const ok = options.health.ready();
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
