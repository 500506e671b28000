import fc from 'fast-check';
import {
  MAX_DOCUMENT_BYTES,
  MAX_ID_LENGTH,
  MAX_QUERY_CHARS,
  MAX_REQUEST_ID_LENGTH,
  MAX_SEARCH_REQUEST_BYTES,
} from '../../topology/index.ts';

// Adversarial inputs for the ingest and search-request decoders, shared by the unit-level property
// test and the integration test that publishes samples of them to the real topics. Raw JSON text is
// built by hand where JSON.stringify could not say it: numbers at their limits (`1e309`, `-0`,
// 2^53 + 1), keys that JavaScript treats specially (`__proto__`), nesting deeper than any
// recursive walker survives.

/** Characters that break naive text handling: NUL, lone surrogates, BOM, zero-width, bidi controls. */
const ODD_CHARS = [
  '\u0000',
  '\u0001',
  '\ud800',
  '\udfff',
  '\udbff\udc00',
  '\ufeff',
  '\u200b',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202e',
  '\u2066',
  '\u0301',
  '\ufffd',
  '\u2028',
  '\u00a0',
  '\t',
  '\n',
  ' ',
  'a',
  'é',
  'ß',
  'ﬁ',
  '中',
  '𝄞',
  '😀',
  '\u05d0',
  '\u0627',
  '"',
  '\\',
  '/',
  '<',
  '%',
  '$',
];
/** Keys with a special meaning to JavaScript objects, or to our contracts. */
const SPECIAL_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
  'length',
  '',
];
/** Number tokens written into JSON text as they are: JSON.parse turns some into Infinity, -0 or a rounded integer. */
const RAW_NUMBER_TOKENS = [
  '1e308',
  '-1e308',
  '1e309',
  '-1e309',
  '1e-400',
  '-0',
  '0',
  '-0.0',
  '5e-324',
  '9007199254740993',
  '9007199254740992',
  '9007199254740991',
  '-9007199254740993',
  '1.0',
  '1.5',
  '0.1',
  '123456789012345678901234567890',
  '1E2',
  '2e0',
];
/** Strings that look like numbers or special values to a lax parser. */
const NUMBERISH = [
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e308',
  '0x10',
  '1_000',
  ' 1',
  '1 ',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '9007199254740993',
];

export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...ODD_CHARS), maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_KEYS, ...NUMBERISH) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 20 }) },
);

/** A string around one of the limits that matter, of a character that is more than one UTF-8 byte or not. */
const longString: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(MAX_REQUEST_ID_LENGTH, MAX_ID_LENGTH, 256, MAX_QUERY_CHARS, MAX_SEARCH_REQUEST_BYTES, 200_000),
    fc.integer({ min: -2, max: 2 }),
    fc.constantFrom('x', 'é', '😀', '\u0000', ' '),
  )
  .map(([limit, delta, char]) => char.repeat(Math.max(0, Math.floor((limit + delta) / char.length))));

const limitNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    -0,
    0,
    2 ** 53 + 1,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    Number.MIN_VALUE,
    Number.EPSILON,
    2 ** 31,
    -(2 ** 31),
    2 ** 32,
    1.5,
    -1,
    1,
    100,
    101,
    NaN,
    Infinity,
    -Infinity,
  ),
  fc.double(),
  fc.integer(),
);

const scalar: fc.Arbitrary<unknown> = fc.oneof(oddString, limitNumber, fc.boolean(), fc.constant(null), fc.constant(undefined));
const key: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...SPECIAL_KEYS,
    'schemaVersion',
    'id',
    'text',
    'title',
    'metadata',
    'tenant',
    'query',
    'topK',
    'filter',
    'must',
    'should',
    'mustNot',
    'match',
    'range',
    'value',
    'any',
    'gt',
    'lte',
    'key',
  ),
  oddString,
);

/** Any JSON-ish value, nested a few levels, with special keys and odd leaves. */
export const wildValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** `[[[...]]]` or `{"a":{"a":...}}` as JSON text, deeper than a recursive walker's stack. */
const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('[', '{"a":', '{"__proto__":', '{"must":['), fc.integer({ min: 1, max: 60_000 }))
  .map(([open, depth]) => {
    const close = open === '[' ? ']' : open === '{"must":[' ? ']}' : '}';
    return `${open.repeat(depth)}1${close.repeat(depth)}`;
  });

/**
 * JSON text of `value` with every string equal to a marker replaced by a raw token: how number
 * tokens, deep nesting and duplicate keys get into the text.
 */
function withRawTokens(value: unknown, raw: Record<string, string>): string {
  let text = JSON.stringify(value) ?? 'null';
  for (const [marker, token] of Object.entries(raw)) text = text.split(JSON.stringify(marker)).join(token);
  return text;
}

export interface FieldMutation {
  /** Field to replace (or add); dotted for nested fields. */
  path: string;
  /** The replacement, as JSON text. */
  json: string;
}

/** One field of an otherwise valid envelope replaced with something adversarial, as JSON text. */
export function mutation(paths: readonly string[]): fc.Arbitrary<FieldMutation> {
  const RAW = '\u0000raw\u0000';
  const json: fc.Arbitrary<string> = fc.oneof(
    { weight: 5, arbitrary: wildValue.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_NUMBER_TOKENS).map((token) => withRawTokens(RAW, { [RAW]: token })) },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: longString.map((s) => JSON.stringify(s)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"polluted":true}}}',
        '[{"__proto__":{"polluted":true}}]',
      ),
    },
  );
  return fc.record({ path: fc.constantFrom(...paths), json });
}

/** Applies a mutation to an envelope and renders JSON text (the replacement may be any JSON text). */
export function applyMutation(base: Record<string, unknown>, m: FieldMutation): string {
  const marker = '\u0000mutation\u0000';
  // A __proto__ key must become an own JSON key, not a prototype change: written under a stand-in.
  const protoKey = '\u0000proto\u0000';
  const copy = structuredClone(base);
  const parts = m.path.split('.').map((part) => (part === '__proto__' ? protoKey : part));
  let target: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) {
    const next = Object.hasOwn(target, part) ? target[part] : undefined;
    if (typeof next !== 'object' || next === null || Array.isArray(next)) target[part] = {};
    target = target[part] as Record<string, unknown>;
  }
  target[parts[parts.length - 1]!] = marker;
  return withRawTokens(copy, { [marker]: m.json, [protoKey]: '"__proto__"' });
}

/** Bytes that are not UTF-8, not JSON, or JSON of the wrong shape. */
export const rawBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.constantFrom(
    Buffer.from([0xff, 0xfe, 0xfd]),
    Buffer.from([0xc0, 0x80]),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
    Buffer.from('\u0000'),
    Buffer.from(' '),
    Buffer.from('null'),
    Buffer.from('[]'),
    Buffer.from('"text"'),
    Buffer.from('1e309'),
    Buffer.from('{"schemaVersion":1,"schemaVersion":2}'),
  ),
  wildValue.map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined', 'utf8')),
  deepJson.map((s) => Buffer.from(s, 'utf8')),
);

/** A valid document envelope: the starting point for single-field mutations. */
export const validDocument: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    schemaVersion: fc.constant(1),
    id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._:\-é中]{0,40}[A-Za-z0-9]$/),
    title: fc
      .string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '中', '😀', '\u200b', '\u202e', '\u0000'), minLength: 1, maxLength: 30 })
      .map((s) => `T${s}`),
    text: fc.string({ unit: fc.constantFrom('cell', ' ', 'gene', '.', '\n', 'ß', '\u05d0', '\u0301', '\u0000', '😀'), maxLength: 60 }),
    metadata: fc.dictionary(
      fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,10}$/),
      fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 })),
      { maxKeys: 4 },
    ),
    tenant: fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/),
  },
  { requiredKeys: ['schemaVersion', 'id', 'title'] },
);

export const DOCUMENT_PATHS = [
  'schemaVersion',
  'id',
  'title',
  'text',
  'metadata',
  'tenant',
  'metadata.year',
  'metadata.__proto__',
  'metadata.constructor',
  '__proto__',
  'constructor',
  'extra',
] as const;

/** A valid search request for a reply channel prefix: the starting point for mutations. */
export function validRequest(replyPrefix: string, now: number): fc.Arbitrary<Record<string, unknown>> {
  const condition = fc.oneof(
    fc.record({
      key: fc.constantFrom('year', 'lang', 'tags', '__proto__', 'constructor'),
      match: fc.record({ value: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean()) }),
    }),
    fc.record({ key: fc.constantFrom('year', 'n'), match: fc.record({ any: fc.array(fc.integer(), { minLength: 1, maxLength: 4 }) }) }),
    fc.record({
      key: fc.constant('year'),
      range: fc
        .record({ gte: fc.integer(), lt: fc.double({ noNaN: true, noDefaultInfinity: true }) }, { requiredKeys: [] })
        .filter((r) => Object.keys(r).length > 0),
    }),
  );
  return fc.record(
    {
      schemaVersion: fc.constant(1),
      id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,30}$/),
      query: fc.record({
        text: fc
          .string({ unit: fc.constantFrom('cell', ' ', 'gene', '中', '\u202e', '😀', '\u0000', '\u200b'), minLength: 1, maxLength: 30 })
          .map((s) => `q${s}`),
      }),
      topK: fc.integer({ min: 1, max: 20 }),
      filter: fc.record(
        {
          must: fc.array(condition, { maxLength: 3 }),
          should: fc.array(condition, { minLength: 1, maxLength: 2 }),
          mustNot: fc.array(condition, { maxLength: 2 }),
        },
        { requiredKeys: [] },
      ),
      tenant: fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/),
      replyTo: fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => `${replyPrefix}${s}`),
      deadline: fc.constant(now + 3_600_000),
    },
    { requiredKeys: ['schemaVersion', 'id', 'query', 'topK', 'replyTo', 'deadline'] },
  );
}

export const REQUEST_PATHS = [
  'schemaVersion',
  'id',
  'query',
  'query.text',
  'topK',
  'filter',
  'filter.must',
  'filter.should',
  'filter.__proto__',
  'tenant',
  'replyTo',
  'deadline',
  'after',
  '__proto__',
  'constructor',
  'extra',
] as const;

/** The largest value the decoders are asked about: a little over the ingest limit. */
export const OVERSIZED_DOCUMENT = (): Buffer => Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x20);
