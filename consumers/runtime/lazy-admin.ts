import type { Admin, Kafka } from 'kafkajs';

/**
 * A Kafka admin client connected on first use and shared by later calls. A failed connection is
 * not cached: the next call tries again. `disconnect()` forgets it, so a closed consumer never
 * reuses it, and swallows the failure of a connection that never came up.
 */
export class LazyAdmin {
  private admin: Promise<Admin> | undefined;

  constructor(private readonly kafka: Kafka) {}

  get(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    const connecting = this.admin;
    connecting.catch(() => {
      if (this.admin === connecting) this.admin = undefined;
    });
    return connecting;
  }

  async disconnect(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin.catch(() => null))?.disconnect();
  }
}
