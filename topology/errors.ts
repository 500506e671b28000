// One error root and a few kinds. Every error searchbus throws is a SearchbusError: `code` names
// the failure (stable, kebab-case, what callers branch on), `retriable` says whether the same call
// may succeed later, `cause` keeps what lay underneath. The class says what *kind* of failure it is;
// the code carries the detail. A class of its own exists only where callers need `instanceof` for
// flow control with typed fields (CleanupError, RewindError; the consumers' RejoinGroupError).
//
//   ConfigError       a setting is wrong; names it (`setting`)          never retriable
//   ContractError     input off its contract: a message, a request, a   never retriable
//                     command line, a file, an argument; dead-lettered
//                     or answered with its code
//   UnavailableError  a dependency (service, model, program, package)   retriable unless said
//                     is down, missing or closed                         otherwise
//   TimeoutError      no answer in time                                  retriable
//   RejectedError     understood, and refused as asked (a peer's error   not retriable unless said
//                     reply, an integrity pin, a policy)                  otherwise
//   CancelledError    stopped on purpose before it finished              never retriable

export interface SearchbusErrorOptions {
  /** Stable and machine-readable (kebab-case); what a caller branches on, never the message. */
  code?: string;
  /** Whether the same call may succeed later (a dependency down), as opposed to failing the same way again. */
  retriable?: boolean;
  cause?: unknown;
}

/** What a kind takes besides its code and message. */
export interface KindOptions {
  cause?: unknown;
  retriable?: boolean;
}

/**
 * The base of every error searchbus throws, modelled on kafkajs' KafkaJSError: `code` names the
 * failure, `retriable` says whether trying again can help (`isRetriable` reads it), `cause` keeps
 * what lay underneath, and `name` is the class' own.
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

/**
 * A setting is missing, malformed, contradicts another, or is refused by the endpoint it configures;
 * thrown at start-up, naming the setting to fix. Codes: `invalid-config` (the default),
 * `endpoint-rejected` (an endpoint answered but refused the credentials, certificate or protocol
 * configured), `port-in-use`, `keys-file-missing`, `keys-file-unreadable`, `invalid-keys-file`.
 */
export class ConfigError extends SearchbusError {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly setting: string,
    message: string,
    options: { cause?: unknown; code?: string } = {},
  ) {
    super(`${setting}: ${message}`, { code: options.code ?? 'invalid-config', cause: options.cause, retriable: false });
  }
}

/**
 * Input that does not follow its contract: an ingest record or document (SchemaErrorCode), a search
 * request (SearchErrorCode), a document's medium (MediaErrorCode), a command line (`usage`), a file
 * (`beir-format`, `zip-format`, `tokenizer-config`, `invalid-eval-set`), an argument or a call
 * (`encoder-config`, `invalid-option`, `unknown-model`, `unknown-analyzer`, `metric-conflict`,
 * `invalid-lifecycle-state`, a rebuild's `illegal-transition`, ...). Never retriable: the same input
 * fails the same way. A consumer dead-letters the message with the code.
 */
export class ContractError<C extends string = string> extends SearchbusError {
  override readonly name: string = 'ContractError';
  declare readonly code: C;
  constructor(code: C, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, cause: options.cause, retriable: false });
  }

  /** Plain `instanceof`, typed: it narrows to ContractError<string>, not the `any` instantiation TypeScript gives a generic class. */
  static override [Symbol.hasInstance](value: unknown): value is ContractError {
    return hasInstance(this, value);
  }
}

/**
 * A dependency cannot be used: a service that does not answer or was closed, a model or inference
 * worker that failed, a program or package that is not installed, a registry that cannot be reached.
 * Retriable unless `retriable: false` says it will not pass by itself (as KafkaJSError defaults to
 * retriable). Codes include `endpoint-unreachable`, `registry-unreachable`, `collection-unresolved`,
 * `collection-gone`, `fence-closed`, `encoder-failed`, `encoder-closed`, `client-closed`,
 * `producer-closed`, `missing-prerequisite`, `optional-dependency-missing`, `ffmpeg-missing`,
 * `service-start-failed`.
 */
export class UnavailableError extends SearchbusError {
  override readonly name: string = 'UnavailableError';
  constructor(code: string, message: string, options: KindOptions = {}) {
    super(message, { code, cause: options.cause, retriable: options.retriable ?? true });
  }
}

/** Nothing answered within `timeoutMs`: `start-timeout`, `search-timeout`. Retriable: what it waited on may come back. */
export class TimeoutError extends SearchbusError {
  override readonly name: string = 'TimeoutError';
  readonly timeoutMs: number;
  constructor(code: string, message: string, options: KindOptions & { timeoutMs: number }) {
    super(message, { code, cause: options.cause, retriable: options.retriable ?? true });
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * The request was understood and refused as asked: a peer's error reply (the query consumer's
 * SearchErrorCode, a Redis `-WRONGPASS` as `redis-wrongpass`), a file that is not the one pinned
 * (`model-integrity`), a rule (`rebuild-refused`, `eval-set-path-refused`, `eval-model-mismatch`,
 * `forbidden`). Not retriable unless the refusal says it may pass (a reply `unavailable`).
 */
export class RejectedError<C extends string = string> extends SearchbusError {
  override readonly name: string = 'RejectedError';
  declare readonly code: C;
  /** What the refusal said besides its message (a reply `not-yet-indexed`: `lag` per partition). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(code: C, message: string, options: KindOptions & { details?: Record<string, unknown> } = {}) {
    super(message, { code, cause: options.cause, retriable: options.retriable ?? false });
    this.details = options.details;
  }

  /** Plain `instanceof`, typed (see ContractError). */
  static override [Symbol.hasInstance](value: unknown): value is RejectedError {
    return hasInstance(this, value);
  }
}

/** Stopped on purpose before it finished: `start-aborted` (close() during start()), `rebuild-cancelled`. */
export class CancelledError extends SearchbusError {
  override readonly name: string = 'CancelledError';
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, cause: options.cause, retriable: false });
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

/**
 * The handler needs the partition read again from `offset` (an earlier one): the batch is not
 * committed and the consumer seeks back. Used when live encoders take a collection over from a
 * rebuild that died before it had applied everything they had already consumed.
 */
export class RewindError extends SearchbusError {
  override readonly name: string = 'RewindError';
  constructor(
    readonly offset: string,
    message: string,
  ) {
    super(message, { code: 'rewind', retriable: false });
  }
}

function hasInstance(kind: object, value: unknown): boolean {
  return Function.prototype[Symbol.hasInstance].call(kind, value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether `error` is a SearchbusError with one of `codes`. */
export function hasErrorCode(error: unknown, ...codes: string[]): error is SearchbusError {
  return error instanceof SearchbusError && codes.includes(error.code);
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

/**
 * Why a document's medium cannot be embedded, as a ContractError's code (and the dead letter's
 * `searchbus-error-code`): the same bytes or uri fail again, so it is never retried.
 */
export const MEDIA_ERROR_CODES = [
  /** Not an image, audio clip or video the decoders read (or the collection has no vector for it). */
  'media-undecodable',
  /** The uri could not be read: no such file, refused, an HTTP error, a timeout. */
  'media-unreachable',
  /** A file:// uri outside SEARCHBUS_MEDIA_FILE_ROOTS, or an http(s) uri the SEARCHBUS_MEDIA_URL_* settings do not allow. */
  'media-forbidden',
  /** The medium read from its uri is over SEARCHBUS_MEDIA_FETCH_MAX_BYTES. */
  'media-too-large',
  /** A document file its extractor cannot read: corrupt, truncated, or not that format. */
  'document-undecodable',
  /** A password-protected document. */
  'document-encrypted',
  /** A readable document with no text to index (a scanned PDF without a text layer and no OCR text). */
  'document-no-text',
] as const;

export type MediaErrorCode = (typeof MEDIA_ERROR_CODES)[number];

const MEDIA_CODES: ReadonlySet<string> = new Set(MEDIA_ERROR_CODES);

/** The content of a document or query cannot be embedded: the same bytes fail again (poison, never retried). */
export function isMediaContentError(error: unknown): error is ContractError<MediaErrorCode> {
  return error instanceof ContractError && MEDIA_CODES.has(error.code);
}

/** Node (libuv, net, tls) and undici codes of a connection that failed or broke, or a request that took too long. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Errors known by `name` that mean "not now": the DOMExceptions of an AbortSignal.timeout() or an
 * abort, and the Qdrant client's own timeout and rate limit (which carry neither code nor status).
 */
const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'AbortError',
  'QdrantClientTimeoutError',
  'QdrantClientResourceExhaustedError',
]);

const MAX_CAUSE_DEPTH = 8;

/**
 * Whether an error from a dependency is worth retrying, from what the error says about itself and
 * never from its message:
 *  1. an explicit boolean `retriable` wins (SearchbusError, every KafkaJSError);
 *  2. a Node or undici error `code` of a failed or broken connection or a timeout (`ECONNREFUSED`,
 *     `UND_ERR_SOCKET`, ...);
 *  3. an HTTP `status` (Qdrant's ApiError): 5xx, 429 and 408 are, any other is not;
 *  4. a `name` of a timeout or abort (`TimeoutError`, `AbortError`, the Qdrant client's timeout);
 *  5. otherwise its `cause`, and for an AggregateError (a connection tried on several addresses)
 *     any of its `errors`. undici's `fetch failed` is a TypeError whose cause has the code.
 */
export function isRetriable(error: unknown): boolean {
  return retriable(error, 0);
}

function retriable(error: unknown, depth: number): boolean {
  if (typeof error !== 'object' || error === null || depth > MAX_CAUSE_DEPTH) return false;
  const e = error as { retriable?: unknown; code?: unknown; status?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.retriable === 'boolean') return e.retriable;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.status === 'number') return e.status >= 500 || e.status === 429 || e.status === 408;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (
    error instanceof AggregateError &&
    Array.isArray(e.errors) &&
    e.errors.some((member) => member !== error && retriable(member, depth + 1))
  )
    return true;
  return e.cause !== undefined && e.cause !== error && retriable(e.cause, depth + 1);
}
