import { ContractError } from './errors.ts';

// A position on the ingest topic: for each partition a publish wrote to, the offset of the last
// record it wrote there. Publishing returns one (IngestProducer, `searchbus ingest --json`); a
// search may carry one as `after`, and is then answered only once the index holds everything up to
// it. On the wire it is an opaque token: `p1.` + base64url (no padding) of
// `<topic>|<partition>:<offset>,<partition>:<offset>…`, partitions ascending. Any client can build
// one from what Kafka told it (kcat's `%t`, `%p`, `%o`), and any two positions of a topic merge.

export const POSITION_TOKEN_VERSION = 'p1';
/** Bounds what a request may make the query consumer parse: a few hundred partitions. */
export const MAX_POSITION_TOKEN_LENGTH = 8 * 1024;

export interface ReadPosition {
  topic: string;
  /** Partition -> offset of the last record written there (kcat's `%o`). */
  offsets: ReadonlyMap<number, bigint>;
}

/** A position token that cannot be decoded, or positions of different topics merged. */
export function invalidPosition(message: string): ContractError<'invalid-position'> {
  return new ContractError('invalid-position', message);
}

/** The position after the records `written` (partition and offset of each, as Kafka acknowledged them). */
export function positionOf(topic: string, written: Iterable<{ partition: number; offset: bigint | string | number }>): ReadPosition {
  const offsets = new Map<number, bigint>();
  for (const { partition, offset } of written) {
    const o = BigInt(offset);
    if (!Number.isSafeInteger(partition) || partition < 0 || o < 0n)
      throw invalidPosition(`no record at partition ${partition}, offset ${o}`);
    const known = offsets.get(partition);
    if (known === undefined || o > known) offsets.set(partition, o);
  }
  return { topic, offsets };
}

/** Both positions at once: the later offset of each partition. Positions of different topics do not merge. */
export function mergePositions(a: ReadPosition, b: ReadPosition): ReadPosition {
  if (a.topic !== b.topic) throw invalidPosition(`positions of topics ${a.topic} and ${b.topic} cannot be merged`);
  return positionOf(a.topic, [...entries(a), ...entries(b)]);
}

export function encodePosition(position: ReadPosition): string {
  const pairs = [...position.offsets].sort(([p], [q]) => p - q).map(([p, o]) => `${p}:${o}`);
  return `${POSITION_TOKEN_VERSION}.${Buffer.from(`${position.topic}|${pairs.join(',')}`, 'utf8').toString('base64url')}`;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const PAIR = /^(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,18})$/;

/** Token -> position; anything else is a ContractError `invalid-position` saying what is wrong. */
export function decodePosition(token: unknown): ReadPosition {
  if (typeof token !== 'string' || token.length === 0) throw invalidPosition('a position must be a non-empty string');
  if (token.length > MAX_POSITION_TOKEN_LENGTH) throw invalidPosition(`a position is at most ${MAX_POSITION_TOKEN_LENGTH} characters`);
  const dot = token.indexOf('.');
  const version = dot < 0 ? '' : token.slice(0, dot);
  if (version !== POSITION_TOKEN_VERSION) throw invalidPosition(`a position starts with "${POSITION_TOKEN_VERSION}."`);
  const body = token.slice(dot + 1);
  if (!BASE64URL.test(body)) throw invalidPosition('a position is base64url after its version');
  const text = Buffer.from(body, 'base64url').toString('utf8');
  const bar = text.indexOf('|');
  const topic = bar < 0 ? '' : text.slice(0, bar);
  if (!TOPIC.test(topic)) throw invalidPosition('a position names its topic before "|"');
  const list = text.slice(bar + 1);
  const offsets = new Map<number, bigint>();
  // An empty list is the position of a publish that wrote nothing: covered at once.
  for (const pair of list === '' ? [] : list.split(',')) {
    const match = PAIR.exec(pair);
    if (!match) throw invalidPosition(`"${pair.slice(0, 40)}" is not <partition>:<offset>`);
    const partition = Number(match[1]);
    if (offsets.has(partition)) throw invalidPosition(`partition ${partition} appears twice`);
    offsets.set(partition, BigInt(match[2]!));
  }
  return { topic, offsets };
}

/**
 * Where an index stands: per partition, the offset below which every record is applied (a
 * consumer group's committed offset: the next one it would read). A partition not listed: nothing.
 */
export type IndexedBounds = ReadonlyMap<number, bigint>;

/** Per partition of `position`, records still to be applied (absent: none); empty when it is covered. */
export function positionLag(position: ReadPosition, bounds: IndexedBounds): Map<number, bigint> {
  const lag = new Map<number, bigint>();
  for (const [partition, offset] of position.offsets) {
    const behind = offset + 1n - (bounds.get(partition) ?? 0n);
    if (behind > 0n) lag.set(partition, behind);
  }
  return lag;
}

export function isCovered(position: ReadPosition, bounds: IndexedBounds): boolean {
  return positionLag(position, bounds).size === 0;
}

function entries(position: ReadPosition): Array<{ partition: number; offset: bigint }> {
  return [...position.offsets].map(([partition, offset]) => ({ partition, offset }));
}
