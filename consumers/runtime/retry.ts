import { setTimeout as delay } from 'node:timers/promises';
import { isRetriable } from '../../topology/index.ts';

export interface RetryOptions {
  signal: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs: number;
  /** Called before each wait; consumers heartbeat here so a long outage is not a rebalance. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => Promise<void> | void;
}

/**
 * Retries `fn` while it fails with a retriable error, with capped exponential backoff and jitter,
 * until it succeeds, fails for good, or the signal aborts (then the abort reason is thrown).
 */
export async function retryWithBackoff<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    options.signal.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (!isRetriable(error) || options.signal.aborted) throw error;
      const ceiling = Math.min(options.maxDelayMs, initial * 2 ** Math.min(attempt - 1, 20));
      const wait = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      await options.onRetry?.(error, attempt, wait);
      try {
        await delay(wait, undefined, { signal: options.signal });
      } catch {
        throw options.signal.reason;
      }
    }
  }
}
