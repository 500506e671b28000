import { AsyncLocalStorage } from 'node:async_hooks';
import type { Socket } from 'node:net';
import { CancelledError, CleanupError, TimeoutError } from './errors.ts';

// The lifecycle every long-lived unit shares, kept in the bottom layer so consumers, producers
// and infra share it without import cycles:
//  - LifecycleState: the one set of state names a unit's `state` reports;
//  - close(): the one teardown verb (bullmq's Worker.close): idempotent, and every step runs even
//    when one throws. closeAll runs the steps and reports every failure at once; closeOnce makes
//    a teardown idempotent (a second call gets the first call's promise);
//  - StartDeadline: one time budget for a whole start(), which also gives way to close();
//  - ConnectionScope: the Kafka sockets a unit opened, so close() can end a connect or a group
//    join the broker is holding open (kafkajs' disconnect() otherwise waits for those requests).

/**
 * Where a unit (consumer, worker, client) is in its life. The usual path is
 * idle -> starting -> running -> closing -> closed:
 *  - `idle`: constructed, nothing opened; close() from here goes straight to `closed`;
 *  - `starting`: start() (a client's connect()) is connecting, subscribing, joining;
 *  - `running`: started; it does its work until close();
 *  - `closing`: close() is running its cleanup steps;
 *  - `closed`: everything it opened is closed, for good (a failed start ends here too, since it
 *    closes what it had opened); it cannot be started again;
 *  - `failed`: it stopped working by itself and will not recover (a Kafka consumer that crashed
 *    and that kafkajs will not restart); close() still has to be called.
 */
export type LifecycleState = 'idle' | 'starting' | 'running' | 'closing' | 'closed' | 'failed';

export interface CleanupStep {
  /** What the step does, for the error report: "disconnect the dead-letter producer". */
  name: string;
  run(): unknown;
}

/**
 * Runs every step in order, whether or not an earlier one threw, and throws one CleanupError
 * listing each failure (bullmq's Worker.close does the same). Falsy entries are skipped, so a
 * caller can list steps for things it may not have opened.
 */
export async function closeAll(component: string, steps: ReadonlyArray<CleanupStep | false | null | undefined>): Promise<void> {
  const real = steps.filter((s): s is CleanupStep => Boolean(s));
  const failures: Array<{ step: string; error: unknown }> = [];
  for (const step of real) {
    try {
      await step.run();
    } catch (error) {
      failures.push({ step: step.name, error });
    }
  }
  if (failures.length > 0) throw new CleanupError(component, failures, real.length);
}

/**
 * Makes `close` idempotent: the first call runs it, every later call (concurrent or not) returns
 * that same promise, so a second close() waits for the first one to finish and reports the same
 * outcome. For teardowns written as functions or object literals; a class keeps its own
 * `closing ??= …` field.
 */
export function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  // Async, so that a close that throws at once still gives every caller the same rejection.
  return () => (closing ??= (async () => close())());
}

/**
 * The time budget of one start(): each phase waits at most for what is left of it, and gives up
 * at once when `signal` aborts (close() was called). The phase's own promise keeps running; the
 * caller closes what it opened, which ends it.
 */
export class StartDeadline {
  private readonly endsAt: number;

  constructor(
    readonly component: string,
    readonly timeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {
    this.endsAt = Date.now() + timeoutMs;
  }

  /**
   * Waits for `work`, which is to "<waitingFor>" ("join consumer group X"); `hint` says what to
   * check (a function is asked only on timeout, so it can report the last error seen).
   */
  async step<T>(waitingFor: string, work: Promise<T> | (() => Promise<T>), hint?: string | (() => string)): Promise<T> {
    if (this.signal?.aborted) throw startAbortedError(this.component, waitingFor);
    const promise = typeof work === 'function' ? work() : work;
    // The loser of the race below must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      const timedOut = (): void =>
        reject(startTimeoutError(this.component, waitingFor, this.timeoutMs, typeof hint === 'function' ? hint() : hint));
      timer = setTimeout(timedOut, Math.max(0, this.endsAt - Date.now()));
      onAbort = () => reject(startAbortedError(this.component, waitingFor));
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, giveUp]);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * start() did not finish within SEARCHBUS_START_TIMEOUT_MS (code `start-timeout`). Says what it
 * waited for; what start() had opened is closed by then. Retriable: the dependency may come back.
 */
export function startTimeoutError(component: string, waitingFor: string, timeoutMs: number, hint?: string): TimeoutError {
  return new TimeoutError('start-timeout', `${component} did not ${waitingFor} within ${timeoutMs} ms${hint ? `: ${hint}` : ''}`, {
    timeoutMs,
  });
}

/**
 * close() was called while start() was still in progress; start() rejects with this (code
 * `start-aborted`). The message keeps the words operators read in logs ("was stopped while it was starting").
 */
export function startAbortedError(component: string, waitingFor: string): CancelledError {
  return new CancelledError('start-aborted', `${component} was stopped while it was starting (waiting to ${waitingFor})`);
}

const currentScope = new AsyncLocalStorage<ConnectionScope>();

/**
 * The sockets opened by the code run inside `run()`, and by everything that code schedules
 * (AsyncLocalStorage follows promises and timers), e.g. one consumer's Kafka connections.
 * `close()` destroys the open ones and refuses new ones, so a request the broker holds open (a
 * group join waiting on a stuck member) fails at once instead of after its request timeout.
 * Only clients whose socket factory calls `trackSocket` (topology's createKafka) take part.
 */
export class ConnectionScope {
  private readonly sockets = new Set<Socket>();
  private closedReason: string | undefined;

  run<T>(fn: () => T): T {
    return currentScope.run(this, fn);
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Sockets opened in this scope and not yet closed. */
  get openSockets(): number {
    let open = 0;
    for (const s of this.sockets) if (!s.destroyed) open += 1;
    return open;
  }

  add(socket: Socket): void {
    if (this.closedReason !== undefined) {
      // The client sees an ordinary connection error (kafkajs listens for 'error').
      process.nextTick(() => socket.destroy(new Error(`connection refused by searchbus: ${this.closedReason}`)));
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Destroys the sockets still in use (with an error, so their client notices) and refuses new ones. */
  close(reason: string): void {
    this.closedReason ??= reason;
    for (const socket of this.sockets) {
      // A socket its client already ended (a graceful disconnect) is left to finish closing.
      if (!socket.destroyed && !socket.writableEnded) socket.destroy(new Error(`connection closed by searchbus: ${reason}`));
    }
  }
}

/** Called by socket factories: puts `socket` in the scope of the code that opens it, if any. */
export function trackSocket(socket: Socket): void {
  currentScope.getStore()?.add(socket);
}

/** The part of an ioredis client that nextReady uses. */
export interface ReadyEventsClient {
  once(event: 'ready' | 'end', listener: () => void): unknown;
  off(event: 'ready' | 'end', listener: () => void): unknown;
}

/** Resolves on the client's next 'ready'; rejects with `closed()` if the connection ends first. */
export function nextReady(client: ReadyEventsClient, closed: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = (): void => {
      client.off('ready', onReady);
      reject(closed());
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}

/** The part of an ioredis client that quitGracefully uses. */
export interface QuittableClient {
  status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  once(event: 'end', listener: () => void): unknown;
  /** The socket; destroyed when the server does not close its side (disconnect() only half-closes). */
  stream?: { destroy(): void } | undefined;
}

/**
 * QUIT for an ioredis-like client, bounded: a server that does not answer (frozen, unreachable,
 * or the command stuck behind an offline queue) gets a hard disconnect after `graceMs`. Resolves
 * once the socket is closed ('end'), or at once when there is none.
 */
export async function quitGracefully(client: QuittableClient, graceMs = 2_000): Promise<void> {
  const status = (): string => client.status;
  if (status() === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', resolve));
  const wasReady = status() === 'ready';
  if (wasReady)
    await within(
      client.quit().catch(() => undefined),
      graceMs,
    );
  if (status() === 'end') return;
  // Waiting to reconnect (or never connected): no socket, only a timer, which disconnect() clears;
  // ioredis then never reports 'end'.
  const socketOpen = status() !== 'reconnecting' && status() !== 'wait';
  client.disconnect();
  if (!socketOpen) return;
  // disconnect() only half-closes, and a frozen server never closes its side. A connection that
  // was ready gets a grace to finish; one still connecting has nothing to finish.
  if (wasReady) await within(ended, graceMs);
  if (status() !== 'end') client.stream?.destroy();
  await within(ended, graceMs);
}

/** Waits for `promise`, but at most `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
