import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fetchMedia, hostAllowed, type MediaFetchLimits } from '../../../../../consumers/embedding/media/media-fetch.ts';
import { ConfigError, ContractError, loadConfig } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

// A real HTTP server on loopback stands for both sides: the media host a deployment allows, and
// the internal service an attacker would aim a uri at. Each refusal is checked to happen before
// any request reaches it.
describe('http(s) media are fetched only from allowed hosts on public addresses (SSRF)', () => {
  let server: Server;
  let base: string;
  let requests: string[];
  const LOOPBACK: MediaFetchLimits = { fetchMaxBytes: 1024, fetchTimeoutMs: 2_000, urlAllowNetworks: ['127.0.0.1/32'] };

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      requests.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/photo.png':
          return void res.end('png bytes');
        case '/to-photo':
          return void res.writeHead(302, { location: '/photo.png' }).end();
        case '/to-metadata':
          return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        case '/to-localhost':
          return void res.writeHead(307, { location: `http://localhost:${(server.address() as AddressInfo).port}/photo.png` }).end();
        case '/loop':
          return void res.writeHead(301, { location: '/loop' }).end();
        case '/declared-large':
          return void res.writeHead(200, { 'content-length': '4096' }).end('x'.repeat(4096));
        case '/chunked-large':
          res.writeHead(200);
          for (let i = 0; i < 8; i++) res.write('y'.repeat(512));
          return void res.end();
        case '/hang':
          return; // never answers
        default:
          return void res.writeHead(404).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    requests = [];
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const forbidden = (pattern: RegExp) => (error: unknown) =>
    errorOf(ContractError, 'media-forbidden', pattern)(error) && (error as ContractError).retriable === false;

  it('refuses loopback, link-local (cloud metadata) and private addresses by default, by IP or by a name that resolves there, without a request', async () => {
    const defaults: MediaFetchLimits = { fetchMaxBytes: 1024, fetchTimeoutMs: 2_000 };
    const port = (server.address() as AddressInfo).port;
    for (const url of [
      `${base}/photo.png`,
      `http://localhost:${port}/photo.png`,
      `http://[::1]:${port}/photo.png`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/a.png',
      'https://192.168.0.1/a.png',
      'http://0.0.0.0/a.png',
    ]) {
      await assert.rejects(
        fetchMedia(new URL(url), defaults),
        forbidden(/outside SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS \(none allowed\)/),
        url,
      );
    }
    assert.deepEqual(requests, [], 'nothing reached the server');
  });

  it('fetches from a network the deployment allows (SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS)', async () => {
    assert.equal((await fetchMedia(new URL(`${base}/photo.png`), LOOPBACK)).toString(), 'png bytes');
  });

  it('refuses a host outside SEARCHBUS_MEDIA_URL_HOSTS, and every host when the list is empty', async () => {
    await assert.rejects(
      fetchMedia(new URL(`${base}/photo.png`), { ...LOOPBACK, urlHosts: ['media.example.com', '*.cdn.example.com'] }),
      forbidden(/host 127\.0\.0\.1 is not in SEARCHBUS_MEDIA_URL_HOSTS \(allowed: media\.example\.com, \*\.cdn\.example\.com\)/),
    );
    await assert.rejects(fetchMedia(new URL(`${base}/photo.png`), { ...LOOPBACK, urlHosts: [] }), forbidden(/no host is allowed/));
    assert.equal((await fetchMedia(new URL(`${base}/photo.png`), { ...LOOPBACK, urlHosts: ['127.0.0.1'] })).toString(), 'png bytes');
    assert.deepEqual(requests, ['/photo.png']);
  });

  it('matches host patterns: * is any host, *.domain its subdomains only, names exactly', () => {
    assert.ok(hostAllowed('anything.org', ['*']));
    assert.ok(hostAllowed('a.example.com', ['*.example.com']));
    assert.ok(hostAllowed('b.a.example.com', ['*.example.com']));
    assert.ok(!hostAllowed('example.com', ['*.example.com']));
    assert.ok(!hostAllowed('badexample.com', ['*.example.com']));
    assert.ok(!hostAllowed('example.com.evil.org', ['example.com']));
    assert.ok(!hostAllowed('x.org', []));
  });

  it('checks every redirect hop: follows one to an allowed place, refuses one to the metadata service or to localhost', async () => {
    assert.equal((await fetchMedia(new URL(`${base}/to-photo`), LOOPBACK)).toString(), 'png bytes');
    await assert.rejects(fetchMedia(new URL(`${base}/to-metadata`), LOOPBACK), forbidden(/169\.254\.169\.254/));
    await assert.rejects(
      fetchMedia(new URL(`${base}/to-localhost`), { ...LOOPBACK, urlHosts: ['127.0.0.1'] }),
      forbidden(/host localhost is not in SEARCHBUS_MEDIA_URL_HOSTS/),
    );
    await assert.rejects(
      fetchMedia(new URL(`${base}/loop`), LOOPBACK),
      errorOf(ContractError, 'media-unreachable', /redirected more than 5 times/),
    );
  });

  it('reports HTTP errors, sizes over the limit (declared or streamed) and timeouts as typed errors, without the query string', async () => {
    await assert.rejects(
      fetchMedia(new URL(`${base}/absent.png?signature=s3cret`), LOOPBACK),
      (error: unknown) =>
        errorOf(ContractError, 'media-unreachable', /answered HTTP 404/)(error) && !/s3cret/.test((error as Error).message),
    );
    await assert.rejects(
      fetchMedia(new URL(`${base}/declared-large`), LOOPBACK),
      errorOf(ContractError, 'media-too-large', /4096 bytes; media are limited to 1024/),
    );
    await assert.rejects(
      fetchMedia(new URL(`${base}/chunked-large`), LOOPBACK),
      errorOf(ContractError, 'media-too-large', /over 1024 bytes/),
    );
    await assert.rejects(
      fetchMedia(new URL(`${base}/hang`), { ...LOOPBACK, fetchTimeoutMs: 200 }),
      errorOf(ContractError, 'media-unreachable', /took over 200 ms \(SEARCHBUS_MEDIA_FETCH_TIMEOUT_MS\)/),
    );
  });

  it('reads both settings once at start-up: defaults, lists, and a bad entry fails naming its setting', () => {
    assert.deepEqual(loadConfig({}).media.urlHosts, ['*']);
    assert.deepEqual(loadConfig({}).media.urlAllowNetworks, []);
    assert.deepEqual(loadConfig({ SEARCHBUS_MEDIA_URL_HOSTS: '' }).media.urlHosts, []);
    assert.deepEqual(loadConfig({ SEARCHBUS_MEDIA_URL_HOSTS: 'Media.Example.com, *.cdn.example.com' }).media.urlHosts, [
      'media.example.com',
      '*.cdn.example.com',
    ]);
    assert.deepEqual(loadConfig({ SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS: '10.0.0.0/8, 192.168.1.20, fd00::/8' }).media.urlAllowNetworks, [
      '10.0.0.0/8',
      '192.168.1.20',
      'fd00::/8',
    ]);
    for (const [setting, value] of [
      ['SEARCHBUS_MEDIA_URL_HOSTS', 'https://media.example.com'],
      ['SEARCHBUS_MEDIA_URL_HOSTS', 'media.*.com'],
      ['SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS', '10.0.0.0/33'],
      ['SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS', 'intranet'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [setting]: value }),
        (error: unknown) => error instanceof ConfigError && error.setting === setting,
        `${setting}=${value}`,
      );
    }
  });
});
