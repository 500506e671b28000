import type { Admin } from 'kafkajs';

/**
 * Whether Kafka answers, for /readyz. A kafkajs producer reports a lost broker only when a send
 * fails, so an admin client asks the cluster for its metadata every `intervalMs`; the gateway is
 * ready only while the last answer came back and is at most `staleMs` old (a probe stuck in
 * kafkajs' retries counts as a failure once that long has passed).
 */
export class KafkaProbe {
  private lastOkAt: number | null = null;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly options: { intervalMs: number; staleMs: number } = { intervalMs: 2_000, staleMs: 6_000 },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Probes once (resolving when that probe settles), then keeps probing in the background. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs);
    this.timer.unref();
    await this.probe();
  }

  isReady(): boolean {
    return this.lastOkAt !== null && this.now() - this.lastOkAt <= this.options.staleMs;
  }

  /** Stops probing and disconnects the admin. Idempotent. */
  close(): Promise<void> {
    clearInterval(this.timer);
    // Not waiting for a probe in flight: during an outage it may sit in kafkajs' retries for long.
    this.closing ??= this.admin.disconnect();
    return this.closing;
  }

  private probe(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.inFlight ??= (async () => {
      try {
        await this.admin.connect();
        await this.admin.describeCluster();
        this.lastOkAt = this.now();
      } catch {
        this.lastOkAt = null;
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }
}
