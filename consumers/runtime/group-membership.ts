/** Protocol errors that mean this member no longer holds its partitions: it must rejoin the group. */
const MEMBERSHIP_LOST = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']);

/**
 * The protocol error inside `error` that says the group moved on without this member (it was
 * frozen, or paused past its session timeout), or null. kafkajs' commitOffsets wraps such an error
 * in a KafkaJSNonRetriableError (or KafkaJSNumberOfRetriesExceeded), which its runner does not
 * recognise: thrown from a batch as it is, it crashes the consumer for good, and the process keeps
 * running without consuming. Unwrapped, the runner rejoins the group instead.
 */
export function lostMembership(error: unknown): Error | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string' && MEMBERSHIP_LOST.has(type) && current instanceof Error) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}
