import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { decodeMatchEvent, type MatchEventV1, type Topology, type Watch } from '../../topology/index.ts';

/** Where watches are kept: consumers/watch's WatchRegistry (Qdrant, embedding), or a fake in a test. */
export interface WatchRegistryLike {
  add(input: unknown): Promise<Watch>;
  list(tenant?: string): Promise<Watch[]>;
  remove(id: string, tenant?: string): Promise<void>;
}

export interface WatchClientOptions {
  kafka: Kafka;
  topology: Topology;
  registry: WatchRegistryLike;
}

export interface MatchTail {
  /** Resolves once the tail is joined and positioned at the end of the topic: every later match reaches it. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches (standing queries) and their matches, as the CLI and the gateway use them: add, list and
 * remove go to the registry; tail follows `<namespace>.matches`.
 */
export class WatchClient {
  constructor(private readonly options: WatchClientOptions) {}

  /** `{ query, tenant?, filter?, threshold? }` -> the stored watch with its id; bad input is a ContractError (WatchErrorCode). */
  add(input: unknown): Promise<Watch> {
    return this.options.registry.add(input);
  }

  list(tenant?: string): Promise<Watch[]> {
    return this.options.registry.list(tenant);
  }

  /** A ContractError `watch-not-found` when there is no such watch (of that tenant). */
  remove(id: string, tenant?: string): Promise<void> {
    return this.options.registry.remove(id, tenant);
  }

  /**
   * Calls `onMatch` for each match published from now on (of one watch, or of a tenant's, or all),
   * until close(). A consumer group of its own, positioned at the end of the matches topic.
   */
  tail(filter: { watchId?: string; tenant?: string }, onMatch: (match: MatchEventV1) => void): MatchTail {
    const { kafka, topology } = this.options;
    const topic = topology.topics.matches;
    const consumer: Consumer = kafka.consumer({ groupId: `${topology.namespace}.watch-tail.${randomUUID()}`, maxWaitTimeInMs: 100 });
    const admin = kafka.admin();
    let joined: () => void = () => undefined;
    const groupJoined = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    const ready = (async () => {
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: false });
      await consumer.run({
        eachMessage: ({ message }) => {
          const match = decodeMatchEvent(message.value);
          const wanted =
            (filter.watchId === undefined || match.watchId === filter.watchId) &&
            (filter.tenant === undefined || match.tenant === filter.tenant);
          if (wanted) onMatch(match);
          return Promise.resolve();
        },
      });
      // Explicit offsets: nothing published after `ends` is skipped while the group settles.
      for (const { partition, offset } of ends) consumer.seek({ topic, partition, offset });
      await groupJoined;
    })();
    let closing: Promise<void> | undefined;
    return {
      ready,
      close: () => (closing ??= ready.catch(() => undefined).then(() => consumer.disconnect())),
    };
  }
}
