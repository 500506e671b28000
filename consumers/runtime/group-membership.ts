import { SearchbusError } from '../../topology/index.ts';

/** Protocol errors that mean this member no longer holds its partitions: it must rejoin the group. */
const MEMBERSHIP_LOST = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']);
/** The broker asked is not (or no longer) the group's coordinator. */
const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR_FOR_GROUP', 'COORDINATOR_NOT_AVAILABLE']);
/** kafkajs errors of a connection that failed or timed out. */
const CONNECTION_FAILED = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError']);

/**
 * The protocol error inside `error` that says the group moved on without this member (it was
 * frozen, or paused past its session timeout), or null. kafkajs' commitOffsets wraps such an error
 * in a KafkaJSNonRetriableError (or KafkaJSNumberOfRetriesExceeded), which its runner does not
 * recognise: thrown from a batch as it is, it crashes the consumer for good, and the process keeps
 * running without consuming. Unwrapped, the runner rejoins the group instead.
 */
export function lostMembership(error: unknown): (Error & { type: string }) | null {
  const found = findInChain(error, (e) => typeof e.type === 'string' && MEMBERSHIP_LOST.has(e.type));
  return found as (Error & { type: string }) | null;
}

/**
 * Whether a heartbeat or commit failed because the group coordinator cannot be reached or has
 * moved. kafkajs looks the coordinator up only when it joins, and keeps sending to the old one
 * (a broker that was killed) for minutes of retries; rejoining looks it up again.
 */
function coordinatorUnreachable(error: unknown): boolean {
  return (
    findInChain(
      error,
      (e) => (typeof e.type === 'string' && COORDINATOR_MOVED.has(e.type)) || (typeof e.name === 'string' && CONNECTION_FAILED.has(e.name)),
    ) !== null
  );
}

/**
 * Thrown from a batch to make kafkajs' runner rejoin the group (it rejoins on these `type`s) instead
 * of retrying or crashing. Not retriable here: retrying the same call would not help. The batch
 * stays uncommitted, so it is redelivered; its writes are idempotent.
 */
export class RejoinGroupError extends SearchbusError {
  override readonly name = 'RejoinGroupError';
  override readonly retriable = false;
  constructor(
    readonly type: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, code: 'rejoin-group', retriable: false });
  }
}

/** How many failures in a row, reaching the coordinator, are taken as its loss rather than a hiccup. */
export const COORDINATOR_FAILURES_BEFORE_REJOIN = 3;

/**
 * Runs a group call (heartbeat, offset commit) and turns the failures that need a rejoin into a
 * RejoinGroupError. `failures` counts consecutive coordinator failures across attempts.
 */
export async function groupCall<T>(what: string, fn: () => Promise<T>, failures: { count: number }): Promise<T> {
  try {
    const result = await fn();
    failures.count = 0;
    return result;
  } catch (error) {
    const lost = lostMembership(error);
    if (lost) throw new RejoinGroupError(lost.type, `${what}: ${lost.message}`, { cause: error });
    if (coordinatorUnreachable(error) && ++failures.count >= COORDINATOR_FAILURES_BEFORE_REJOIN) {
      failures.count = 0;
      throw new RejoinGroupError('NOT_COORDINATOR_FOR_GROUP', `${what}: the group coordinator is unreachable; looking it up again`, {
        cause: error,
      });
    }
    throw error;
  }
}

function findInChain(error: unknown, match: (e: { type?: unknown; name?: unknown }) => boolean): Error | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof Error && match(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}
