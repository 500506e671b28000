import type { IncomingMessage } from 'node:http';
import {
  ContractError,
  decodePosition,
  isSearchContractError,
  isSearchMode,
  MAX_QUERY_CHARS,
  parseSearchFilter,
  SEARCH_MODES,
  type CodeQuery,
  type MediaQuery,
  type SearchErrorCode,
  type SearchFilter,
  type SearchMode,
} from '../../topology/index.ts';
import { parseFilterArgs } from '../../producers/search-client/index.ts';
import { multipartBodyLimit, uploadLimit, type GatewayLimits } from './gateway-options.ts';
import { invalid, type GatewayError } from './gateway-responses.ts';
import { FILE_FIELD, readMultipartForm, type MultipartFailure } from './multipart-form.ts';

// The parameters of a search, read from a query string, a JSON body or a multipart form. Each
// reader answers either the parameters or the error to send; none writes to the response.

export interface SearchParams {
  text: string;
  /**
   * A query by example from a JSON body: inline base64 only (a uri would let a caller make the query
   * consumer read its files); or source code (`{ code: { text, language } }`, checked by the query consumer).
   */
  example?: { image: MediaQuery } | { audio: MediaQuery } | { code: CodeQuery };
  topK: number | undefined;
  filter: SearchFilter | undefined;
  tenant: string | null;
  mode: SearchMode | undefined;
  /** A position token: answer once the index holds everything up to it (parameter, field, or the X-Searchbus-After header). */
  after?: string;
}

/** The header that may carry `after` instead of the parameter (a client that adds it to every request after a write). */
export const AFTER_HEADER = 'x-searchbus-after';

const SEARCH_PARAMS = new Set(['q', 'k', 'filter', 'tenant', 'mode', 'after']);
const FORM_FIELDS = new Set([...SEARCH_PARAMS, FILE_FIELD]);
const BODY_FIELDS = new Set(['q', 'k', 'filter', 'tenant', 'mode', 'after', 'image', 'audio', 'code']);
const EXPECTED = 'expected q, k, filter, tenant, mode, after';

/**
 * Adds `after` (the parameter, else the header) to parsed parameters, checked here so that a
 * malformed token is a 400 at once, not a trip over the bus.
 */
export function withAfter(params: SearchParams, fromParams: unknown, header: string | string[] | undefined): SearchParams | GatewayError {
  if (Array.isArray(header)) return invalid('invalid-request', `the ${AFTER_HEADER} header is given more than once`);
  const token = fromParams ?? header;
  if (token === undefined || token === '') return params;
  if (fromParams !== undefined && header !== undefined && fromParams !== header)
    return invalid('invalid-request', `after and the ${AFTER_HEADER} header disagree`);
  try {
    decodePosition(token);
  } catch (error) {
    if (isSearchContractError(error)) return invalid(error.code, `after: ${error.message}`);
    throw error;
  }
  return { ...params, after: token as string };
}

export function queryParams(params: URLSearchParams): SearchParams | GatewayError {
  const unknown = [...new Set(params.keys())].filter((k) => !SEARCH_PARAMS.has(k));
  if (unknown.length > 0)
    return invalid('invalid-request', `unknown parameter(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; ${EXPECTED}`);
  for (const name of ['q', 'k', 'tenant', 'mode', 'after']) {
    if (params.getAll(name).length > 1) return invalid('invalid-request', `${name} is given more than once`);
  }
  const kRaw = params.get('k');
  let topK: number | undefined;
  if (kRaw !== null && kRaw !== '') {
    if (!/^-?\d{1,16}$/.test(kRaw.trim()))
      return invalid('invalid-top-k', `k must be a whole number, got ${JSON.stringify(kRaw.slice(0, 64))}`);
    topK = Number(kRaw);
  }
  const parsed = finish(
    params.get('q') ?? '',
    topK,
    () => parseFilterArgs(params.getAll('filter')),
    params.get('tenant'),
    params.get('mode') ?? undefined,
  );
  return 'status' in parsed ? parsed : withAfter(parsed, params.get('after') ?? undefined, undefined);
}

export async function bodyParams(request: IncomingMessage, limits: GatewayLimits): Promise<SearchParams | GatewayError> {
  const body = await jsonBody(request, limits.maxBodyBytes, 'POST /search', ' or multipart/form-data');
  if (!body.ok) return body.error;
  const json = body.value;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return invalid('invalid-request', 'the body must be a JSON object');
  const fields = json as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !BODY_FIELDS.has(k));
  if (unknown.length > 0)
    return invalid('invalid-request', `unknown field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}; ${EXPECTED}`);
  const { q, k, filter, tenant, mode, after, image, audio, code } = fields;
  if (after !== undefined && typeof after !== 'string') return invalid('invalid-position', 'after must be a position token (a string)');
  let example: SearchParams['example'];
  if (code !== undefined) {
    if ([q, image, audio].some((v) => v !== undefined)) return invalid('invalid-request', 'give exactly one of q, image, audio and code');
    const given = code as Record<string, unknown> | null;
    if (typeof given !== 'object' || given === null || typeof given.text !== 'string' || typeof given.language !== 'string')
      return invalid('invalid-request', 'code must be { text: <source code>, language: <typescript, python, …> }');
    example = { code: { text: given.text, language: given.language as CodeQuery['language'] } };
  } else if (image !== undefined || audio !== undefined) {
    const kind = image !== undefined ? 'image' : 'audio';
    const given = (image ?? audio) as Record<string, unknown> | null;
    if ([q, image, audio].filter((v) => v !== undefined).length !== 1)
      return invalid('invalid-request', 'give exactly one of q, image and audio');
    if (
      typeof given !== 'object' ||
      given === null ||
      Array.isArray(given) ||
      typeof given.data !== 'string' ||
      Object.keys(given).some((f) => f !== 'data' && f !== 'type')
    ) {
      return invalid('invalid-request', `${kind} must be { data: <base64>, type?: <MIME type> } (no uri through the gateway)`);
    }
    if (given.type !== undefined && typeof given.type !== 'string') return invalid('invalid-request', `${kind}.type must be a MIME type`);
    const media: MediaQuery = { data: given.data, ...(typeof given.type === 'string' ? { type: given.type } : {}) };
    example = kind === 'image' ? { image: media } : { audio: media };
  }
  if (q !== undefined && typeof q !== 'string') return invalid('invalid-request', 'q must be a string');
  if (k !== undefined && (typeof k !== 'number' || !Number.isSafeInteger(k))) return invalid('invalid-top-k', 'k must be a whole number');
  if (tenant !== undefined && typeof tenant !== 'string') return invalid('invalid-request', 'tenant must be a string');
  const parseFilter = (): SearchFilter | undefined => {
    if (filter === undefined || filter === null) return undefined;
    if (Array.isArray(filter)) {
      if (!filter.every((f): f is string => typeof f === 'string'))
        throw new ContractError<SearchErrorCode>('invalid-filter', 'filter must be an object or an array of "key=value" strings');
      return parseFilterArgs(filter);
    }
    return parseSearchFilter(filter);
  };
  const finished = finish(example ? 'example' : (q ?? ''), k, parseFilter, tenant ?? null, mode);
  const params = 'status' in finished ? finished : withAfter(finished, after, undefined);
  return example && !('status' in params) ? { ...params, example } : params;
}

/** A multipart form: the fields of a GET (each at most once but `filter`), or a `file` instead of `q`. */
export async function formParams(request: IncomingMessage, limits: GatewayLimits): Promise<SearchParams | GatewayError> {
  const form = await readMultipartForm(request.headers, request, {
    maxFileBytes: uploadLimit(limits),
    maxBodyBytes: multipartBodyLimit(limits),
    maxFieldBytes: MAX_QUERY_CHARS * 4,
  });
  if ('kind' in form) return formFailure(form, limits);
  const unknown = [...form.fields.keys()].filter((k) => !FORM_FIELDS.has(k));
  if (unknown.length > 0)
    return invalid(
      'invalid-request',
      `unknown form field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}; expected q or file, k, filter, tenant, mode, after`,
    );
  for (const name of ['q', 'k', 'tenant', 'mode', 'after']) {
    if ((form.fields.get(name)?.length ?? 0) > 1) return invalid('invalid-request', `${name} is given more than once`);
  }
  const one = (name: string): string | undefined => form.fields.get(name)?.[0];
  const q = one('q');
  // An empty text box sent beside a file is no text query.
  if (form.file && q !== undefined && q.trim() !== '') return invalid('invalid-request', 'give either q or a file, not both');
  const kRaw = one('k');
  let topK: number | undefined;
  if (kRaw !== undefined && kRaw.trim() !== '') {
    if (!/^-?\d{1,16}$/.test(kRaw.trim()))
      return invalid('invalid-top-k', `k must be a whole number, got ${JSON.stringify(kRaw.slice(0, 64))}`);
    topK = Number(kRaw);
  }
  const filters = (form.fields.get('filter') ?? []).filter((f) => f.trim() !== '');
  const mode = one('mode');
  const tenant = one('tenant');
  const finished = finish(
    form.file ? 'example' : (q ?? ''),
    topK,
    () => parseFilterArgs(filters),
    tenant === undefined || tenant === '' ? null : tenant,
    mode === '' ? undefined : mode,
  );
  const params = 'status' in finished ? finished : withAfter(finished, one('after'), undefined);
  if (!form.file || 'status' in params) return params;
  const media: MediaQuery = { data: form.file.bytes.toString('base64'), type: form.file.type };
  return { ...params, example: form.file.modality === 'image' ? { image: media } : { audio: media } };
}

function formFailure(failure: MultipartFailure, limits: GatewayLimits): GatewayError {
  switch (failure.kind) {
    case 'too-large':
      return {
        status: 413,
        code: 'payload-too-large',
        message: `${failure.message} (a query file may be up to ${uploadLimit(limits)} bytes)`,
      };
    case 'unsupported-type':
      return { status: 415, code: 'unsupported-media-type', message: failure.message };
    case 'invalid':
      return invalid('invalid-request', failure.message);
  }
}

function finish(
  text: string,
  topK: number | undefined,
  filter: () => SearchFilter | undefined,
  tenant: string | null,
  mode: unknown,
): SearchParams | GatewayError {
  // Checked here too, so a request the query consumer would refuse costs no trip over the bus.
  if (text.trim() === '') return invalid('empty-query', 'q is empty');
  if (mode !== undefined && !isSearchMode(mode)) return invalid('invalid-mode', `mode must be one of ${SEARCH_MODES.join(', ')}`);
  if (text.length > MAX_QUERY_CHARS) return invalid('invalid-request', `q is longer than ${MAX_QUERY_CHARS} characters`);
  try {
    return { text, topK, filter: filter(), tenant, mode };
  } catch (error) {
    if (isSearchContractError(error)) return invalid(error.code, error.message);
    throw error;
  }
}

/** A JSON request body within `max` bytes, or the error to answer (415, 413, 400). */
export async function jsonBody(
  request: IncomingMessage,
  max: number,
  what: string,
  orElse = '',
): Promise<{ ok: true; value: unknown } | { ok: false; error: GatewayError }> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    return {
      ok: false,
      error: { status: 415, code: 'unsupported-media-type', message: `${what} takes Content-Type: application/json${orElse}` },
    };
  const body = await readBody(request, max);
  if (body === null)
    return { ok: false, error: { status: 413, code: 'payload-too-large', message: `the body is larger than ${max} bytes` } };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch (error) {
    return { ok: false, error: invalid('invalid-json', `the body is not JSON: ${(error as Error).message.slice(0, 200)}`) };
  }
}

/** The body, or null once it passes `max` bytes (the rest is not read; the connection is closed after the answer). */
function readBody(request: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        request.off('data', onData);
        request.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}
