import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { bodyParams, jsonBody, queryParams } from '../../../../infra/gateway/gateway-parameters.ts';
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
      message: 'unknown parameter(s) "x"; expected q, k, filter, tenant, mode',
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
