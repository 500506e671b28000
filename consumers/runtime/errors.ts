import kafkajs from 'kafkajs';
import { SearchbusError } from '../../topology/index.ts';

// kafkajs is CommonJS; Node's ESM loader cannot see its error classes by name.
const { KafkaJSError } = kafkajs;

/**
 * A message that can never be processed (bad JSON, wrong schema, ...). It goes to the dead-letter
 * topic with its original bytes so the partition moves on; retrying it would block the partition.
 */
export class PoisonMessageError extends SearchbusError {
  override readonly name: string = 'PoisonMessageError';
  override readonly retriable = false;
  constructor(
    override readonly code: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, code });
  }
}

/** A dependency (Qdrant, Kafka, Redis) failed in a way that may pass: back off and try again. */
export class RetriableError extends SearchbusError {
  override readonly name: string = 'RetriableError';
  override readonly retriable = true;
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { code: 'transient-failure', ...options, retriable: true });
  }
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether an error from a dependency is worth retrying. Explicit `retriable` flags win; otherwise
 * network failures, timeouts and 5xx/429 answers are transient, everything else is not.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof KafkaJSError) return error.retriable;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { retriable?: unknown; code?: unknown; status?: unknown; name?: unknown; cause?: unknown; message?: unknown };
  if (typeof e.retriable === 'boolean') return e.retriable;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.status === 'number') return e.status >= 500 || e.status === 429 || e.status === 408;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  if (typeof e.message === 'string' && /fetch failed|socket hang up|network/i.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== error ? isRetriable(e.cause) : false;
}
