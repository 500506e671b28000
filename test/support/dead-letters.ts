import type { Consumer } from 'kafkajs';
import { HEADERS } from '../../topology/index.ts';
import { waitFor, type Harness } from './harness.ts';

export interface DeadLetter {
  code: string;
  reason: string;
}

/**
 * The dead letters of the harness's namespace, by key, once at least `count` have arrived (read
 * from the beginning by a group of its own, disconnected before this returns).
 */
export async function deadLetters(h: Harness, count: number, timeoutMs: number): Promise<Map<string, DeadLetter>> {
  const dlq: Consumer = h.kafka.consumer({ groupId: `${h.namespace}.dlq-reader` });
  const letters = new Map<string, DeadLetter>();
  await dlq.connect();
  try {
    await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
    await dlq.run({
      eachMessage: ({ message }) => {
        letters.set(message.key?.toString() ?? '', {
          code: message.headers?.[HEADERS.errorCode]?.toString() ?? '',
          reason: message.headers?.[HEADERS.errorMessage]?.toString() ?? '',
        });
        return Promise.resolve();
      },
    });
    await waitFor(`${count} dead letters`, () => Promise.resolve(letters.size >= count ? true : undefined), timeoutMs, 500);
    return letters;
  } finally {
    await dlq.disconnect();
  }
}
