import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFilterArgs } from '../../producers/search-client/index.ts';
import { ContractError, type WatchErrorCode } from '../../topology/index.ts';
import type { GatewayWatches } from './gateway-options.ts';
import { chooseTenant, type Principal } from './authenticator.ts';
import { jsonBody } from './gateway-parameters.ts';
import { fail, methodNotAllowed, notFound, send, type GatewayError } from './gateway-responses.ts';

export function isWatchesPath(pathname: string): boolean {
  return pathname === '/watches' || pathname.startsWith('/watches/');
}

/** A ContractError of a watch request -> 400 with its code (404 for `watch-not-found`); anything else is rethrown. */
function watchError(error: unknown): GatewayError {
  if (error instanceof ContractError) {
    const code = error.code as WatchErrorCode;
    return { status: code === 'watch-not-found' ? 404 : 400, code, message: error.message };
  }
  throw error;
}

/**
 * A watch as posted, its tenant the one chosen, and a filter given as `key=value` lines (as /search
 * takes them, and as the search page sends its filter box) turned into a filter object.
 */
function postedSpec(body: unknown, tenant: string | undefined): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { filter } = body as { filter?: unknown };
  const lines = Array.isArray(filter) && filter.length > 0 && filter.every((f): f is string => typeof f === 'string') ? filter : null;
  return {
    ...body,
    ...(tenant !== undefined ? { tenant } : {}),
    ...(lines ? { filter: parseFilterArgs(lines) ?? null } : {}),
  };
}

/**
 * POST /watches (JSON `{ query, tenant?, filter?, threshold? }`; `filter` an object or `key=value` lines), GET /watches, DELETE /watches/<id>,
 * GET /watches/<id>/events (Server-Sent Events, one `match` event per match). The tenant is chosen
 * as for /search: a credential limited to tenants may only name those, and reaches only their watches.
 */
export async function handleWatches(
  exchange: { request: IncomingMessage; response: ServerResponse; url: URL; method: string; maxBody: number },
  principal: Principal,
  watches: GatewayWatches,
): Promise<number> {
  const { request, response, url, method } = exchange;
  const parts = url.pathname.split('/').slice(2);
  const [id, tail] = parts;
  const allowed =
    parts.length === 0 ? ['GET', 'HEAD', 'POST'] : parts.length === 1 ? ['DELETE'] : tail === 'events' && parts.length === 2 ? ['GET'] : [];
  if (allowed.length === 0 || id === '') return fail(response, notFound(url.pathname));
  if (!allowed.includes(method)) return fail(response, methodNotAllowed(url.pathname, allowed));
  let requested = url.searchParams.get('tenant');
  let body: unknown;
  if (method === 'POST') {
    const read = await jsonBody(request, exchange.maxBody, 'POST /watches');
    if (!read.ok) return fail(response, read.error);
    body = read.value;
    const named = (body as { tenant?: unknown } | null)?.tenant;
    if (typeof named === 'string') requested = named;
  }
  const tenant = chooseTenant(principal, requested);
  if (!tenant.ok)
    return fail(response, {
      status: tenant.status,
      code: tenant.status === 403 ? 'forbidden' : 'invalid-request',
      message: tenant.message,
    });
  try {
    if (method === 'POST') return send(response, 201, await watches.add(postedSpec(body, tenant.tenant)));
    if (parts.length === 0) return send(response, 200, { watches: await watches.list(tenant.tenant) });
    if (method === 'DELETE') {
      await watches.remove(id!, tenant.tenant);
      return send(response, 200, { removed: id });
    }
    if (!(await watches.list(tenant.tenant)).some((w) => w.id === id))
      return fail(response, { status: 404, code: 'watch-not-found', message: `no watch ${id!.slice(0, 64)}` });
    return await streamMatches(request, response, watches, {
      watchId: id!,
      ...(tenant.tenant !== undefined ? { tenant: tenant.tenant } : {}),
    });
  } catch (error) {
    return fail(response, watchError(error));
  }
}

/** Server-Sent Events until the caller goes away: a comment once the tail is positioned, then one `match` event per match. */
async function streamMatches(
  request: IncomingMessage,
  response: ServerResponse,
  watches: GatewayWatches,
  filter: { watchId: string; tenant?: string },
): Promise<number> {
  const following = watches.tail(filter, (match) => {
    response.write(`event: match\nid: ${match.partition}:${match.offset}\ndata: ${JSON.stringify(match)}\n\n`);
  });
  const closed = new Promise<void>((resolve) => request.socket.once('close', () => resolve()));
  try {
    await following.ready;
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    // A comment: the stream is live, every later match will be sent.
    response.write(': following\n\n');
    await closed;
  } finally {
    await following.close();
  }
  response.end();
  return 200;
}
