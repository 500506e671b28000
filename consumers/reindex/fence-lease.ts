import type { RedisWriteFences } from '../runtime/index.ts';

/** How often a rebuild renews its fence lease: three chances before it lapses. */
export function renewIntervalMs(leaseMs: number): number {
  return Math.max(1, Math.floor(leaseMs / 3));
}

/**
 * A rebuild writes a batch only with more than this much lease left, so a batch started under the
 * lease ends before anyone may take the collection over (a batch lasts far less than half a lease).
 */
export function writeMarginMs(leaseMs: number): number {
  return Math.floor(leaseMs / 2);
}

/**
 * Keeps a rebuild's fence lease alive while the hand-over runs. `lost` turns true once a renewal
 * finds the fence no longer held by this owner (the lease lapsed and live encoders reopened it, or
 * the job was abandoned): the rebuild must then stop writing.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private lostValue = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly fences: Pick<RedisWriteFences, 'renew'>,
    private readonly collection: string,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  get lost(): boolean {
    return this.lostValue;
  }

  start(): void {
    if (this.timer || this.closing) return;
    this.timer = setInterval(() => {
      // One renewal at a time; a slow Redis must not pile them up.
      this.renewing ??= this.fences
        .renew(this.collection, this.owner, this.leaseMs)
        .then((held) => {
          if (!held) this.lostValue = true;
        }, this.onError)
        .finally(() => {
          this.renewing = undefined;
        });
    }, renewIntervalMs(this.leaseMs));
  }

  /** Stops renewing and waits for a renewal in flight. Idempotent; the keeper cannot be started again. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.renewing;
    })();
    return this.closing;
  }
}
