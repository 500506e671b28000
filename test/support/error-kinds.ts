import type { SearchbusError } from '../../topology/errors.ts';

/**
 * A validator for assert.throws / assert.rejects: an instance of the error kind `kind` with the code
 * `expected`, and, when given, a message matching `message`. Says what it got when it does not match.
 */
export function errorOf(
  kind: abstract new (...args: never[]) => SearchbusError,
  expected: string,
  message?: RegExp,
): (error: unknown) => true {
  return (error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code;
    const got = error instanceof Error ? `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}` : String(error);
    if (!(error instanceof kind)) throw new Error(`expected a ${kind.name} ${expected}, got ${got}`, { cause: error });
    if (error.code !== expected) throw new Error(`expected code ${expected}, got ${got}`, { cause: error });
    if (message && !message.test(error.message))
      throw new Error(`expected a message matching ${String(message)}, got ${got}`, { cause: error });
    return true;
  };
}
