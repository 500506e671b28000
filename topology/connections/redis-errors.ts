import type { Redis } from 'ioredis';

/**
 * Reports a Redis connection's errors on stderr once per outage, not once per reconnect attempt.
 * Without a listener ioredis prints "Unhandled error event" with a stack trace at every attempt
 * while Redis is down; it reconnects (and re-subscribes) by itself either way.
 */
export function reportRedisErrors(redis: Redis, name: string, write: (line: string) => void = (line) => process.stderr.write(line)): void {
  let reported = false;
  redis.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    write(`[redis] ${name}: ${error.message}; reconnecting\n`);
  });
  redis.on('ready', () => {
    if (reported) write(`[redis] ${name}: connected again\n`);
    reported = false;
  });
}
