// http(s) media: the claim check's other half. Whoever can publish a document or send a search
// names the URL, so without limits a role would fetch whatever its own network can reach (SSRF):
// the cloud metadata service, the Redis and Qdrant beside it, an admin page on localhost. So the
// host must match SEARCHBUS_MEDIA_URL_HOSTS, and every address the role connects to must be public
// unless it lies in SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS. Both are checked again on every redirect
// hop, and the address check runs on the resolved address at connect time
// (request-filtering-agent), so a name that resolves (or re-resolves) to a private address is
// refused too. Every failure is a ContractError with a media code (never retriable).
import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { DEFAULT_MEDIA_URL_HOSTS } from '../../../topology/index.ts';
import { ContractError, hasErrorCode, type MediaErrorCode } from '../../../topology/errors.ts';

export interface MediaFetchLimits {
  /** SEARCHBUS_MEDIA_FETCH_MAX_BYTES */
  readonly fetchMaxBytes: number;
  /** SEARCHBUS_MEDIA_FETCH_TIMEOUT_MS: for the whole fetch, redirects and body included. */
  readonly fetchTimeoutMs: number;
  /** SEARCHBUS_MEDIA_URL_HOSTS: `*` (any host), `*.example.com` (its subdomains) or a host name; none: http(s) media are refused. Default `*`. */
  readonly urlHosts?: readonly string[];
  /** SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS: non-public addresses (IPs or CIDRs) media may still come from. Default none. */
  readonly urlAllowNetworks?: readonly string[];
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function fetchMedia(url: URL, limits: MediaFetchLimits): Promise<Buffer> {
  const signal = AbortSignal.timeout(limits.fetchTimeoutMs);
  let current = url;
  for (let hop = 0; ; hop++) {
    checkHost(current, limits.urlHosts ?? DEFAULT_MEDIA_URL_HOSTS);
    const response = await request(current, limits, signal);
    const next = redirectTarget(response, current);
    if (next === undefined) return readBody(response, current, limits, signal);
    response.resume();
    if (hop === MAX_REDIRECTS)
      throw new ContractError<MediaErrorCode>('media-unreachable', `${where(url)} redirected more than ${MAX_REDIRECTS} times`);
    current = next;
  }
}

/** Whether `host` (a URL's hostname: lowercase, an IPv6 literal in brackets) matches one of the patterns. */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => pattern === '*' || pattern === host || (pattern.startsWith('*.') && host.endsWith(pattern.slice(1))));
}

function checkHost(url: URL, patterns: readonly string[]): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ContractError<MediaErrorCode>('media-forbidden', `${where(url)}: only http and https are fetched`);
  if (hostAllowed(url.hostname, patterns)) return;
  const allowed = patterns.length === 0 ? 'no host is allowed' : `allowed: ${patterns.join(', ')}`;
  throw new ContractError<MediaErrorCode>(
    'media-forbidden',
    `${where(url)}: host ${url.hostname} is not in SEARCHBUS_MEDIA_URL_HOSTS (${allowed})`,
  );
}

function request(url: URL, limits: MediaFetchLimits, signal: AbortSignal): Promise<http.IncomingMessage> {
  const secure = url.protocol === 'https:';
  const filter = { allowIPAddressList: [...(limits.urlAllowNetworks ?? [])], keepAlive: false };
  const agent = secure ? new RequestFilteringHttpsAgent(filter) : new RequestFilteringHttpAgent(filter);
  return new Promise((resolve, reject) => {
    const options = { agent, signal, headers: { 'user-agent': 'searchbus' } };
    const req = (secure ? https : http).get(url, options, resolve);
    req.on('error', (error) => reject(requestError(error, url, limits, signal)));
  });
}

function requestError(error: Error, url: URL, limits: MediaFetchLimits, signal: AbortSignal): Error {
  // request-filtering-agent's refusals are plain Errors ("... is not allowed. Because, It is
  // private IP address."); the version is pinned, and a unit test fails if the wording changes.
  if (/ is not allowed\. Because/.test(error.message)) {
    const networks = limits.urlAllowNetworks?.length ? `allowed: ${limits.urlAllowNetworks.join(', ')}` : 'none allowed';
    return new ContractError<MediaErrorCode>(
      'media-forbidden',
      `${where(url)}: ${url.hostname} is a loopback, private, link-local or reserved address, outside SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS (${networks})`,
      { cause: error },
    );
  }
  if (signal.aborted) return timedOut(url, limits, error);
  return new ContractError<MediaErrorCode>(
    'media-unreachable',
    `cannot fetch ${where(url)}: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
    { cause: error },
  );
}

function redirectTarget(response: http.IncomingMessage, from: URL): URL | undefined {
  const status = response.statusCode ?? 0;
  if (REDIRECTS.has(status) && response.headers.location) {
    try {
      return new URL(response.headers.location, from);
    } catch (error) {
      response.resume();
      throw new ContractError<MediaErrorCode>('media-unreachable', `${where(from)} redirected to an invalid location`, { cause: error });
    }
  }
  if (status < 200 || status >= 300) {
    response.resume();
    throw new ContractError<MediaErrorCode>('media-unreachable', `fetching ${where(from)} answered HTTP ${status}`);
  }
  return undefined;
}

async function readBody(response: http.IncomingMessage, url: URL, limits: MediaFetchLimits, signal: AbortSignal): Promise<Buffer> {
  const maxBytes = limits.fetchMaxBytes;
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    response.destroy();
    throw new ContractError<MediaErrorCode>(
      'media-too-large',
      `${where(url)} is ${declared} bytes; media are limited to ${maxBytes} bytes (SEARCHBUS_MEDIA_FETCH_MAX_BYTES)`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response) {
      total += (chunk as Buffer).length;
      if (total > maxBytes)
        throw new ContractError<MediaErrorCode>(
          'media-too-large',
          `${where(url)} is over ${maxBytes} bytes (SEARCHBUS_MEDIA_FETCH_MAX_BYTES)`,
        );
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    response.destroy();
    if (hasErrorCode(error, 'media-too-large')) throw error;
    if (signal.aborted) throw timedOut(url, limits, error);
    throw new ContractError<MediaErrorCode>('media-unreachable', `reading ${where(url)} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return Buffer.concat(chunks);
}

/** The whole fetch (redirects and body included) ran past its deadline, in the request or while reading the body. */
function timedOut(url: URL, limits: MediaFetchLimits, cause: unknown): ContractError<MediaErrorCode> {
  return new ContractError<MediaErrorCode>(
    'media-unreachable',
    `fetching ${where(url)} took over ${limits.fetchTimeoutMs} ms (SEARCHBUS_MEDIA_FETCH_TIMEOUT_MS)`,
    { cause },
  );
}

/** The URL without its query and credentials: those may carry signatures or secrets, and this text lands in dead letters and logs. */
function where(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
