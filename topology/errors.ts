import kafkajs from 'kafkajs';

export interface SearchbusErrorOptions {
  /** Stable and machine-readable (kebab-case); what a caller branches on, never the message. */
  code?: string;
  /** Whether the same call may succeed later (a dependency down), as opposed to failing the same way again. */
  retriable?: boolean;
  cause?: unknown;
}

/**
 * The base of every error searchbus throws, modelled on kafkajs' KafkaJSError: `code` names the
 * failure, `retriable` says whether trying again can help (`isRetriable` reads it), `cause` keeps
 * what lay underneath, and `name` is the subclass' own. Subclasses set their code and flag as
 * fields or through these options.
 */
export class SearchbusError extends Error {
  override readonly name: string = 'SearchbusError';
  readonly code: string;
  readonly retriable: boolean;
  constructor(message: string, options: SearchbusErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = options.code ?? 'searchbus-error';
    this.retriable = options.retriable ?? false;
  }
}

/** A message that does not follow its contract. Never retriable: the same bytes fail the same way. */
export class SchemaError extends SearchbusError {
  override readonly name: string = 'SchemaError';
  override readonly retriable = false;
  constructor(
    override readonly code: SchemaErrorCode,
    message: string,
  ) {
    super(message, { code });
  }
}

export type SchemaErrorCode =
  | 'invalid-json'
  | 'not-an-object'
  | 'missing-schema-version'
  | 'unsupported-schema-version'
  | 'missing-id'
  | 'invalid-id'
  | 'missing-key'
  | 'invalid-key'
  | 'key-mismatch'
  | 'empty-text'
  | 'oversized'
  | 'invalid-field'
  /** `media` is not `{ type, data? , uri? }` with exactly one of data and uri, or its data is not base64. */
  | 'invalid-media'
  /** `media.type` is a MIME type searchbus does not embed (see topology/media.ts). */
  | 'unsupported-media-type'
  /** Inline `media.data` over the inline limit: publish it by `uri` instead (claim check). */
  | 'media-too-large';

/** A setting is missing, malformed or contradicts another; thrown at start-up, naming the setting. */
export class ConfigError extends SearchbusError {
  override readonly name: string = 'ConfigError';
  override readonly retriable = false;
  constructor(
    readonly setting: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${setting}: ${message}`, { code: 'invalid-config', ...options });
  }
}

/** A lifecycle method was called in a state that does not allow it (start() twice, start() after close()). */
export class LifecycleStateError extends SearchbusError {
  override readonly name: string = 'LifecycleStateError';
  constructor(message: string) {
    super(message, { code: 'invalid-lifecycle-state' });
  }
}

/**
 * start() did not finish within SEARCHBUS_START_TIMEOUT_MS. Says what it waited for; what start()
 * had opened is closed by then. Retriable: the dependency it waited on may come back.
 */
export class StartTimeoutError extends SearchbusError {
  override readonly name: string = 'StartTimeoutError';
  constructor(
    readonly component: string,
    readonly waitingFor: string,
    readonly timeoutMs: number,
    hint?: string,
  ) {
    super(`${component} did not ${waitingFor} within ${timeoutMs} ms${hint ? `: ${hint}` : ''}`, { code: 'start-timeout', retriable: true });
  }
}

/**
 * close() was called while start() was still in progress; start() rejects with this. The message
 * keeps the words operators read in logs ("was stopped while it was starting").
 */
export class StartAbortedError extends SearchbusError {
  override readonly name: string = 'StartAbortedError';
  constructor(
    readonly component: string,
    readonly waitingFor: string,
  ) {
    super(`${component} was stopped while it was starting (waiting to ${waitingFor})`, { code: 'start-aborted' });
  }
}

/**
 * One or more cleanup steps failed. Every step ran regardless (as in bullmq's Worker.close);
 * `errors` holds each failure, like AggregateError's, and `failures` names the step of each.
 */
export class CleanupError extends SearchbusError {
  override readonly name: string = 'CleanupError';
  readonly errors: unknown[];
  constructor(
    readonly component: string,
    readonly failures: ReadonlyArray<{ step: string; error: unknown }>,
    readonly steps: number,
  ) {
    super(
      `${failures.length} of ${steps} cleanup steps failed while closing ${component}: ${failures.map((f) => `${f.step}: ${errorMessage(f.error)}`).join('; ')}`,
      { code: 'cleanup-failed', cause: failures[0]?.error },
    );
    this.errors = failures.map((f) => f.error);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


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

/**
 * The handler needs the partition read again from `offset` (an earlier one): the batch is not
 * committed and the consumer seeks back. Used when live encoders take a collection over from a
 * rebuild that died before it had applied everything they had already consumed.
 */
export class RewindError extends Error {
  override readonly name: string = 'RewindError';
  readonly retriable = false;
  constructor(
    readonly offset: string,
    message: string,
  ) {
    super(message);
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
