import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ContractError,
  decodePosition,
  encodePosition,
  isCovered,
  MAX_POSITION_TOKEN_LENGTH,
  mergePositions,
  parseSearchRequest,
  positionLag,
  positionOf,
  type ReadPosition,
} from '../../../topology/index.ts';

const TOPIC = 'rp-test.documents';

function token(text: string): string {
  return `p1.${Buffer.from(text, 'utf8').toString('base64url')}`;
}

function invalidPosition(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof ContractError && error.code === 'invalid-position' && pattern.test(error.message));
}

describe('position tokens', () => {
  it('round-trip: the same topic and offsets, whatever order they came in', () => {
    const position = positionOf(TOPIC, [
      { partition: 2, offset: 7n },
      { partition: 0, offset: '41' },
      { partition: 2, offset: 5 },
    ]);
    const encoded = encodePosition(position);
    assert.match(encoded, /^p1\.[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(encoded.slice(3), 'base64url').toString('utf8'), `${TOPIC}|0:41,2:7`);
    const decoded = decodePosition(encoded);
    assert.equal(decoded.topic, TOPIC);
    assert.deepEqual(
      [...decoded.offsets],
      [
        [0, 41n],
        [2, 7n],
      ],
    );
  });

  it('keeps offsets past 2^53 exact', () => {
    const big = 2n ** 60n + 3n;
    assert.equal(decodePosition(encodePosition(positionOf(TOPIC, [{ partition: 1, offset: big }]))).offsets.get(1), big);
  });

  it('a publish that wrote nothing is an empty position, covered by anything', () => {
    const empty = decodePosition(encodePosition(positionOf(TOPIC, [])));
    assert.equal(empty.offsets.size, 0);
    assert.equal(isCovered(empty, new Map()), true);
  });

  it('merges to the later offset of each partition', () => {
    const a = positionOf(TOPIC, [
      { partition: 0, offset: 10n },
      { partition: 1, offset: 3n },
    ]);
    const b = positionOf(TOPIC, [
      { partition: 0, offset: 4n },
      { partition: 2, offset: 9n },
    ]);
    const merged = mergePositions(a, b);
    assert.deepEqual(
      [...merged.offsets].sort(([p], [q]) => p - q),
      [
        [0, 10n],
        [1, 3n],
        [2, 9n],
      ],
    );
    assert.deepEqual(encodePosition(mergePositions(b, a)), encodePosition(merged));
  });

  it('does not merge positions of different topics', () => {
    invalidPosition(() => mergePositions(positionOf(TOPIC, []), positionOf('other.documents', [])), /cannot be merged/);
  });

  it('refuses malformed tokens with a typed error saying what is wrong', () => {
    invalidPosition(() => decodePosition(''), /non-empty string/);
    invalidPosition(() => decodePosition(42), /non-empty string/);
    invalidPosition(() => decodePosition('p2.abc'), /starts with "p1."/);
    invalidPosition(() => decodePosition('nodot'), /starts with "p1."/);
    invalidPosition(() => decodePosition('p1.not base64!'), /base64url/);
    invalidPosition(() => decodePosition(token('no-bar')), /topic/);
    invalidPosition(() => decodePosition(token('bad topic|0:1')), /topic/);
    invalidPosition(() => decodePosition(token(`${TOPIC}|0:1,x:2`)), /"x:2" is not <partition>:<offset>/);
    invalidPosition(() => decodePosition(token(`${TOPIC}|0:-1`)), /is not <partition>:<offset>/);
    invalidPosition(() => decodePosition(token(`${TOPIC}|01:1`)), /is not <partition>:<offset>/);
    invalidPosition(() => decodePosition(token(`${TOPIC}|0:1,0:2`)), /appears twice/);
    invalidPosition(() => decodePosition(`p1.${'A'.repeat(MAX_POSITION_TOKEN_LENGTH)}`), /at most/);
  });

  it('a search request with a malformed after is refused with invalid-position', () => {
    const base = { schemaVersion: 1, id: 'r1', query: { text: 'q' }, topK: 3, replyTo: 'ns:reply:c', deadline: Date.now() + 1000 };
    const limits = { maxTopK: 10, replyChannelPrefix: 'ns:reply:' };
    const bad = parseSearchRequest({ ...base, after: 'p1.@@' }, limits);
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error.code, 'invalid-position');
    const good = parseSearchRequest({ ...base, after: encodePosition(positionOf(TOPIC, [{ partition: 0, offset: 1n }])) }, limits);
    assert.equal(good.ok && good.request.after?.startsWith('p1.'), true);
  });
});

describe('is a position covered', () => {
  const position: ReadPosition = positionOf(TOPIC, [
    { partition: 0, offset: 9n },
    { partition: 3, offset: 0n },
  ]);

  it('needs every partition committed past the offset (committed = the next offset to read)', () => {
    assert.equal(
      isCovered(
        position,
        new Map([
          [0, 10n],
          [3, 1n],
        ]),
      ),
      true,
    );
    assert.equal(
      isCovered(
        position,
        new Map([
          [0, 9n],
          [3, 1n],
        ]),
      ),
      false,
    );
  });

  it('counts a partition the bounds do not name as nothing applied', () => {
    assert.deepEqual([...positionLag(position, new Map([[0, 10n]]))], [[3, 1n]]);
  });

  it('gives the records to go per partition, none for covered ones', () => {
    const lag = positionLag(
      position,
      new Map([
        [0, 4n],
        [3, 5n],
      ]),
    );
    assert.deepEqual([...lag], [[0, 6n]]);
  });
});
