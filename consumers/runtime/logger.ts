export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One JSON object per line on stderr, so logs can be shipped as they are. */
export function jsonLogger(component: string, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      write(`${JSON.stringify({ time: new Date().toISOString(), level, component, message, ...serialise(fields) })}\n`);
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? serialiseError(v) : v]));
}

export interface SerialisedError {
  name: string;
  message: string;
  code?: string | number;
  retriable?: boolean;
  stack?: string;
  cause?: unknown;
  /** AggregateError's and CleanupError's members. */
  errors?: unknown[];
}

// Deep enough for any real chain; a cycle (an error that is its own cause) stops at the first repeat.
const MAX_ERROR_DEPTH = 8;

/**
 * An error as JSON, keeping what JSON.stringify drops: the stack, the `cause` chain (kafkajs and
 * SearchbusError both wrap), AggregateError-like `errors`, `code` and `retriable`.
 */
export function serialiseError(error: Error, depth = 0, ancestors: Set<unknown> = new Set()): SerialisedError {
  ancestors.add(error);
  const e = error as Error & { code?: unknown; retriable?: unknown; errors?: unknown };
  const out: SerialisedError = { name: error.name, message: error.message };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.retriable === 'boolean') out.retriable = e.retriable;
  if (error.stack !== undefined) out.stack = error.stack;
  const nested = (value: unknown): unknown => {
    if (ancestors.has(value)) return '[circular]';
    if (value instanceof Error)
      return depth + 1 >= MAX_ERROR_DEPTH ? { name: value.name, message: value.message } : serialiseError(value, depth + 1, ancestors);
    return value;
  };
  if (error.cause !== undefined) out.cause = nested(error.cause);
  if (Array.isArray(e.errors)) out.errors = e.errors.map(nested);
  // Only an error's own ancestors make a cycle; the same error may appear in two branches.
  ancestors.delete(error);
  return out;
}
