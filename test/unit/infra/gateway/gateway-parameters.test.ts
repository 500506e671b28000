import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { bodyParams, jsonBody, queryParams, withAfter, type SearchParams } from '../../../../infra/gateway/gateway-parameters.ts';
import { encodePosition, positionOf } from '../../../../topology/index.ts';
import { DEFAULT_GATEWAY_LIMITS } from '../../../../infra/gateway/gateway-options.ts';

// The search parameters of a query string and of a JSON body, read without a server: each reader
// answers the parameters or the error the gateway sends (status, code, message).

function request(body: string, contentType = 'application/json'): IncomingMessage {
  return Object.assign(Readable.from([Buffer.from(body)]), { headers: { 'content-type': contentType } }) as unknown as IncomingMessage;
}

describe('queryParams', () => {
  it('reads q, k, filters, tenant and mode', () => {
    assert.deepEqual(queryParams(new URLSearchParams('q=stars&k=3&filter=topic%3Dastronomy&tenant=acme&mode=hybrid')), {
      text: 'stars',
      topK: 3,
      filter: { must: [{ key: 'topic', match: { value: 'astronomy' } }] },
      tenant: 'acme',
      mode: 'hybrid',
    });
  });

  it('refuses unknown and repeated parameters, a k that is no number, an empty q and an unknown mode', () => {
    assert.deepEqual(queryParams(new URLSearchParams('q=a&x=1')), {
      status: 400,
      code: 'invalid-request',
      message: 'unknown parameter(s) "x"; expected q, k, filter, tenant, mode, after',
    });
    assert.deepEqual(queryParams(new URLSearchParams('q=a&q=b')), {
      status: 400,
      code: 'invalid-request',
      message: 'q is given more than once',
    });
    assert.deepEqual(queryParams(new URLSearchParams('q=a&k=ten')), {
      status: 400,
      code: 'invalid-top-k',
      message: 'k must be a whole number, got "ten"',
    });
    assert.deepEqual(queryParams(new URLSearchParams('k=3')), { status: 400, code: 'empty-query', message: 'q is empty' });
    assert.deepEqual(queryParams(new URLSearchParams('q=a&mode=fuzzy')), {
      status: 400,
      code: 'invalid-mode',
      message: 'mode must be one of dense, sparse, hybrid',
    });
  });
});

describe('bodyParams and jsonBody', () => {
  it('reads a JSON body with a query by example', async () => {
    const parsed = await bodyParams(request(JSON.stringify({ image: { data: 'AAAA', type: 'image/png' }, k: 2 })), DEFAULT_GATEWAY_LIMITS);
    assert.deepEqual(parsed, {
      text: 'example',
      topK: 2,
      filter: undefined,
      tenant: null,
      mode: undefined,
      example: { image: { data: 'AAAA', type: 'image/png' } },
    });
  });

  it('reads a JSON body with a query by code, and refuses one beside q or without a language', async () => {
    const code = { text: 'def f(): pass', language: 'python' };
    const parsed = await bodyParams(request(JSON.stringify({ code, k: 3 })), DEFAULT_GATEWAY_LIMITS);
    assert.ok(!('status' in parsed) && parsed.topK === 3);
    assert.deepEqual(!('status' in parsed) && parsed.example, { code });
    for (const body of [{ code, q: 'x' }, { code: { text: 'def f(): pass' } }, { code: 'def f(): pass' }]) {
      const refused = await bodyParams(request(JSON.stringify(body)), DEFAULT_GATEWAY_LIMITS);
      assert.ok('status' in refused && refused.status === 400, JSON.stringify(refused));
    }
  });

  it('answers 415 for another content type, 413 past the limit and 400 for broken JSON', async () => {
    assert.deepEqual(await jsonBody(request('{}', 'text/plain'), 100, 'POST /search', ' or multipart/form-data'), {
      ok: false,
      error: {
        status: 415,
        code: 'unsupported-media-type',
        message: 'POST /search takes Content-Type: application/json or multipart/form-data',
      },
    });
    assert.deepEqual(await jsonBody(request('{"q": "far too long"}'), 5, 'POST /x'), {
      ok: false,
      error: { status: 413, code: 'payload-too-large', message: 'the body is larger than 5 bytes' },
    });
    const broken = await jsonBody(request('{"q"'), 100, 'POST /x');
    assert.ok(!broken.ok && broken.error.status === 400 && broken.error.code === 'invalid-json');
  });
});

describe('after', () => {
  const token = encodePosition(positionOf('gw.documents', [{ partition: 0, offset: 12n }]));

  it('is read from the query string, a JSON body, or the X-Searchbus-After header', async () => {
    const fromQuery = queryParams(new URLSearchParams({ q: 'a', after: token }));
    assert.equal('after' in fromQuery && fromQuery.after, token);
    const fromBody = await bodyParams(request(JSON.stringify({ q: 'a', after: token })), DEFAULT_GATEWAY_LIMITS);
    assert.equal('after' in fromBody && fromBody.after, token);
    const plain = queryParams(new URLSearchParams({ q: 'a' })) as SearchParams;
    assert.equal(plain.after, undefined);
    const fromHeader = withAfter(plain, undefined, token);
    assert.equal('after' in fromHeader && fromHeader.after, token);
  });

  it('refuses a malformed token at once with a 400 invalid-position', async () => {
    const bad = queryParams(new URLSearchParams({ q: 'a', after: 'p1.%%%' }));
    assert.equal('status' in bad && bad.status, 400);
    assert.equal('code' in bad && bad.code, 'invalid-position');
    const badBody = await bodyParams(request(JSON.stringify({ q: 'a', after: 7 })), DEFAULT_GATEWAY_LIMITS);
    assert.equal('code' in badBody && badBody.code, 'invalid-position');
    const badHeader = withAfter(queryParams(new URLSearchParams({ q: 'a' })) as SearchParams, undefined, 'nope');
    assert.equal('code' in badHeader && badHeader.code, 'invalid-position');
  });

  it('refuses a header that disagrees with the parameter, or is repeated', () => {
    const parsed = queryParams(new URLSearchParams({ q: 'a', after: token })) as SearchParams;
    const other = encodePosition(positionOf('gw.documents', [{ partition: 0, offset: 13n }]));
    assert.equal((withAfter(parsed, parsed.after, other) as { code: string }).code, 'invalid-request');
    assert.equal((withAfter(parsed, parsed.after, [token, token]) as { code: string }).code, 'invalid-request');
  });
});
