import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { closeAll, ConnectionScope, ContractError, StartDeadline, type LifecycleState } from '../../topology/index.ts';
import { RewindError, isRetriable } from '../../topology/index.ts';
import { sendDeadLetters, type DeadLetter } from './dead-letter.ts';
import { evictGroupMembers } from './evict-members.ts';
import type { GroupMemberRegistry } from './group-member-registry.ts';
import { groupCall, RejoinGroupError } from './group-membership.ts';
import type { Logger } from './logger.ts';
import { SECONDS_BUCKETS, SIZE_BUCKETS, type MetricsRegistry } from './metrics.ts';
import { retryWithBackoff } from './retry.ts';

// The shared consumer runtime. A role supplies `decode` (bytes -> typed message, throwing for
// poison) and `handle` (a batch of decoded messages -> side effects). The runtime owns batching,
// dead-lettering, retries with backoff, offset commits after the handler's writes, metrics and an
// ordered, idempotent close().
//
// Lifecycle: start() connects the dead-letter producer, the consumer, subscribes and waits for the
// group join, all within `startTimeoutMs`; past it, or when close() is called meanwhile, it closes
// what it had opened and rejects (TimeoutError `start-timeout` / CancelledError `start-aborted`),
// ending in 'closed'.
// close() runs every cleanup step even when one throws and reports them together (CleanupError).
// A crash kafkajs will not restart leaves it 'failed' until close().

/**
 * How old a consumer's cluster metadata may get before a fetch refreshes it (kafkajs' default is 5
 * minutes). A fetch to a dead partition leader is retried against the metadata in hand, so only
 * fresh metadata moves the consumer to the new leader before kafkajs' retries run out and it
 * restarts the consumer (about 16 s, then a rejoin): searches cannot wait that out, and an encoder
 * would stall its partitions as long. One small metadata request a second per consumer.
 */
const METADATA_MAX_AGE_MS = 1_000;

export interface Decoded<T> {
  value: T;
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  message: KafkaMessage;
}

export interface HandlerContext {
  /** Aborted when the consumer closes; a handler waiting on I/O should give up (no commit follows). */
  signal: AbortSignal;
  logger: Logger;
  topic: string;
  partition: number;
  /** Offsets of the first and last message of this slice, decodable or not. */
  firstOffset: string;
  lastOffset: string;
}

export interface BatchConsumerOptions<T> {
  kafka: Kafka;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  decode: (message: KafkaMessage, topic: string, partition: number) => T;
  handle: (batch: Decoded<T>[], context: HandlerContext) => Promise<void>;
  /** Called for each poison message before it is dead-lettered (e.g. to send an error reply). */
  onPoison?: (letter: DeadLetter) => Promise<void>;
  deadLetterTopic: string;
  /** Messages per handler call. */
  maxBatchSize: number;
  /** How long a fetch waits for data before returning what it has. */
  maxWaitMs: number;
  maxRetryDelayMs: number;
  sessionTimeoutMs?: number;
  /**
   * Where this instance records its members of the group: before joining, members it ran whose
   * process has died are removed from the group, so their partitions need not wait out the dead
   * member's session (a process restarted after kill -9 reads them at once).
   */
  members?: GroupMemberRegistry;
  /**
   * Partitions handled at once (default 1). Batches of different partitions are independent, so a
   * latency-bound role (queries) need not make one partition's requests wait behind another's.
   */
  partitionsConsumedConcurrently?: number;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Metric label; e.g. "encoder". */
  role: string;
  /** The longest start() may take (SEARCHBUS_START_TIMEOUT_MS); default 60 s. */
  startTimeoutMs?: number;
  /**
   * Commit each batch's offsets (still only after its handler's writes) without waiting for the
   * broker's answer before fetching the next batch; a commit that fails is superseded by the next
   * one. Takes a round trip off every batch of a latency-bound role; the price is that a crash, a
   * rebalance or a close() may leave the last batches uncommitted, to be handled again by whoever
   * reads the partition next. Only for handlers whose re-run is harmless (queries: the client
   * drops a second reply). Default false: the commit is awaited, with retries.
   */
  commitInBackground?: boolean;
}

export class BatchConsumer<T> {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly abort = new AbortController();
  /** Aborted by close(): a start() in progress gives up at once. */
  private readonly startAbort = new AbortController();
  /** This consumer's Kafka sockets (producer and consumer), for close() during start(). */
  private readonly connections = new ConnectionScope();
  private stateValue: LifecycleState = 'idle';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private retrying = false;
  /** commitInBackground: the latest offset to commit per partition, and the commit loop running. */
  private readonly toCommit = new Map<
    string,
    { topic: string; partition: number; offset: string; commit: EachBatchPayload['commitOffsetsIfNecessary'] }
  >();
  private committing: Promise<void> | undefined;
  private readonly processed;
  private readonly deadLettered;
  private readonly retries;
  private readonly batchSize;
  private readonly handleSeconds;
  private readonly rewinds;
  private readonly lag;

  constructor(private readonly options: BatchConsumerOptions<T>) {
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: heartbeatIntervalMs(options.sessionTimeoutMs),
      maxWaitTimeInMs: options.maxWaitMs,
      metadataMaxAge: METADATA_MAX_AGE_MS,
      minBytes: 1,
      // kafkajs retries a dead broker (a fetch leader, the coordinator) this many times before the
      // consumer restarts and looks them up again. Backoff capped at 2 s: about 16 s in all,
      // instead of the two minutes the default 30 s cap adds up to while nothing is consumed.
      // It restarts a crashed consumer by itself; never once close() has begun (or a failed
      // start() is closing it), or it would reconnect what was just closed.
      retry: { retries: 10, maxRetryTime: 2_000, restartOnFailure: () => Promise.resolve(!this.closeRequested) },
    });
    this.producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const m = options.metrics;
    this.processed = m.counter('searchbus_messages_processed_total', 'Messages handled and committed', ['role', 'topic']);
    this.deadLettered = m.counter('searchbus_messages_dead_lettered_total', 'Messages sent to the dead-letter topic', ['role', 'topic']);
    this.retries = m.counter('searchbus_retries_total', 'Handler retries after a retriable failure', ['role']);
    this.rewinds = m.counter('searchbus_rewinds_total', 'Partitions read again from an earlier offset (a take-over from a dead rebuild)', [
      'role',
      'topic',
    ]);
    this.batchSize = m.histogram('searchbus_batch_size', 'Messages per handler call', SIZE_BUCKETS, ['role']);
    this.handleSeconds = m.histogram('searchbus_handle_seconds', 'Handler time per batch', SECONDS_BUCKETS, ['role']);
    this.lag = m.gauge('searchbus_consumer_lag', 'Messages behind the end of the partition at the last fetch', [
      'role',
      'topic',
      'partition',
    ]);
    const { members } = options;
    if (members) this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => members.joined(event.payload.memberId));
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (this.closeRequested) return;
      if (!event.payload.restart) this.stateValue = 'failed';
      options.logger.error('consumer crashed', { error: event.payload.error, restart: event.payload.restart });
    });
  }

  get state(): LifecycleState {
    return this.stateValue;
  }

  /** True while the batch in hand keeps failing and is being retried; a readiness probe reports it. */
  get stalled(): boolean {
    return this.retrying;
  }

  private get closeRequested(): boolean {
    return this.closing !== undefined;
  }

  private get component(): string {
    return `the ${this.options.role} consumer (group ${this.options.groupId})`;
  }

  /**
   * Connects, subscribes and joins the group within `startTimeoutMs`. On failure (timeout, close()
   * meanwhile, a broker error) everything opened so far is closed before it rejects.
   */
  async start(): Promise<void> {
    if (this.stateValue !== 'idle')
      throw new ContractError('invalid-lifecycle-state', `cannot start ${this.component}: it is ${this.stateValue}`);
    this.stateValue = 'starting';
    const deadline = new StartDeadline(this.component, this.options.startTimeoutMs ?? 60_000, this.startAbort.signal);
    this.starting = this.connections.run(() => this.connectAndJoin(deadline));
    try {
      await this.starting;
    } catch (error) {
      await this.close().catch((cleanup: unknown) => this.options.logger.error('closing after a failed start failed', { error: cleanup }));
      throw error;
    }
    // close() may have been called just as the join completed.
    if (this.closeRequested) {
      await this.close();
      return;
    }
    this.stateValue = 'running';
  }

  private async connectAndJoin(deadline: StartDeadline): Promise<void> {
    const { topic, groupId } = this.options;
    const unreachable = 'check that Kafka answers at KAFKA_BROKERS';
    await deadline.step('connect its dead-letter producer to Kafka', () => this.producer.connect(), unreachable);
    await deadline.step('connect to Kafka', () => this.consumer.connect(), unreachable);
    await deadline.step(
      `subscribe to topic ${topic}`,
      () => this.consumer.subscribe({ topic, fromBeginning: this.options.fromBeginning }),
      'does the topic exist (searchbus topology apply)?',
    );
    if (this.options.members) await this.removeDeadMembers(this.options.members);
    const offs: Array<() => void> = [];
    // run() resolves once joined, but also when the join crashed (kafkajs then restarts it), so
    // the join is what is awaited; a crash kafkajs will not retry fails the start at once.
    const joined = new Promise<void>((resolve, reject) => {
      offs.push(this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve()));
      offs.push(
        this.consumer.on(this.consumer.events.CRASH, (event) => {
          if (!event.payload.restart) reject(event.payload.error);
        }),
      );
    });
    try {
      await deadline.step(
        `join consumer group ${groupId}`,
        async () => {
          await this.consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
            eachBatch: (payload) => this.eachBatch(payload),
          });
          await joined;
        },
        'a member of the group may be stuck in a rebalance, or the group coordinator unavailable',
      );
    } finally {
      for (const off of offs) off();
    }
  }

  /**
   * Removes members of this instance whose process died from the group, before joining it. Only
   * a shortcut: when Redis is not connected yet, or a step fails, the dead members leave at their
   * session timeout as without it, and the start goes on (a role's own Redis step reports Redis).
   */
  private async removeDeadMembers(members: GroupMemberRegistry): Promise<void> {
    const { groupId, kafka, logger } = this.options;
    try {
      const dead = await members.deadMembers();
      const removed = await evictGroupMembers(kafka, groupId, dead);
      if (removed.length > 0) logger.info('removed dead members from the group', { groupId, members: removed });
      await members.forget(dead);
    } catch (error) {
      logger.warn('could not remove dead members of the group; they leave at their session timeout', { groupId, error });
    }
  }

  /**
   * Stop fetching, let the batch in hand finish and commit, then disconnect. Safe to call twice.
   * During start() it returns promptly: start() gives up and its connections are closed.
   * Every step runs even when one throws; the failures are reported together (CleanupError).
   */
  close(): Promise<void> {
    this.closing ??= this.connections.run(async () => {
      if (this.stateValue === 'idle') {
        this.stateValue = 'closed';
        return;
      }
      const wasStarting = this.stateValue === 'starting';
      this.stateValue = 'closing';
      if (wasStarting) {
        this.startAbort.abort();
        // A connect or a group join the broker holds open would keep kafkajs' disconnect waiting
        // for its request timeout; nothing is committed yet, so end those requests now.
        this.connections.close('the consumer was closed while it was starting');
        await this.starting?.catch(() => undefined);
      }
      // A batch stuck retrying an outage gives up now; it was not committed, so it is redelivered.
      const giveUp = setTimeout(() => this.abort.abort(new Error('consumer closing')), this.options.sessionTimeoutMs ?? 30_000);
      try {
        await closeAll(this.component, [
          // Before leaving the group, while the member may still commit.
          { name: 'finish the background commits', run: () => this.committing ?? Promise.resolve() },
          { name: 'stop fetching and finish the batch in hand', run: () => this.consumer.stop() },
          { name: 'disconnect the consumer', run: () => this.consumer.disconnect() },
          { name: 'disconnect the dead-letter producer', run: () => this.producer.disconnect() },
          // After leaving: a member that left needs no eviction by the next process.
          { name: 'forget this member', run: () => this.options.members?.close() ?? Promise.resolve() },
        ]);
      } finally {
        clearTimeout(giveUp);
        this.abort.abort(new Error('consumer closed'));
        // Whatever kafkajs may still open (a retry in flight) is refused from now on.
        this.connections.close('the consumer is closed');
        this.stateValue = 'closed';
      }
    });
    return this.closing;
  }

  /**
   * Sends records with this consumer's idempotent producer (acks=all), from a handler: what it sends
   * is acknowledged before the batch's offsets commit, so a crash redelivers rather than loses it.
   */
  async send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    await this.producer.send({ topic, acks: -1, messages });
  }

  /** Kafka sockets of this consumer still open; 0 once close() (or a failed start()) has returned. */
  get openConnections(): number {
    return this.connections.openSockets;
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    // Failures reaching the group coordinator in a row; past a few, the member rejoins (see groupCall).
    const coordinatorFailures = { count: 0 };
    const heartbeat = (): Promise<void> => groupCall('heartbeat', () => payload.heartbeat(), coordinatorFailures);
    const isRunning = (): boolean => payload.isRunning();
    const isStale = (): boolean => payload.isStale();
    const { topic, partition } = batch;
    const o = this.options;
    this.lag.set({ role: o.role, topic, partition }, Number(batch.offsetLag()));
    for (let start = 0; start < batch.messages.length; start += o.maxBatchSize) {
      if (!isRunning() || isStale()) return;
      const slice = batch.messages.slice(start, start + o.maxBatchSize);
      const good: Decoded<T>[] = [];
      const poison: DeadLetter[] = [];
      for (const message of slice) {
        try {
          good.push({ value: o.decode(message, topic, partition), topic, partition, offset: message.offset, key: message.key, message });
        } catch (error) {
          poison.push(toLetter(message, topic, partition, error));
        }
      }
      const context: HandlerContext = {
        signal: this.abort.signal,
        logger: o.logger,
        topic,
        partition,
        firstOffset: slice[0]?.offset ?? '0',
        lastOffset: slice[slice.length - 1]?.offset ?? '0',
      };
      const retry = <R>(fn: () => Promise<R>): Promise<R> =>
        retryWithBackoff(fn, {
          signal: this.abort.signal,
          maxDelayMs: o.maxRetryDelayMs,
          onRetry: async (error, attempt, delayMs) => {
            this.retrying = true;
            this.retries.inc({ role: o.role });
            o.logger.warn('retrying after a transient failure', { error, attempt, delayMs, topic, partition });
            await heartbeat();
          },
        });

      const started = performance.now();
      if (good.length > 0) {
        try {
          await keepingMembership(payload, heartbeatIntervalMs(o.sessionTimeoutMs), () => retry(() => o.handle(good, context)));
        } catch (error) {
          if (error instanceof RewindError) {
            // Uncommitted; the next fetch starts at the earlier offset.
            this.retrying = false;
            this.rewinds.inc({ role: o.role, topic });
            o.logger.warn('reading a partition again from an earlier offset', {
              topic,
              partition,
              offset: error.offset,
              reason: error.message,
            });
            this.consumer.seek({ topic, partition, offset: error.offset });
            return;
          }
          // Closing, still failing when the retries were cut short, or rejoining the group: leave it uncommitted.
          if (this.abort.signal.aborted || isRetriable(error) || error instanceof RejoinGroupError) throw error;
          // One message spoilt the batch: handle them one by one so only the culprit is dead-lettered.
          o.logger.warn('batch failed; isolating the failing message', { error, topic, partition });
          for (const item of good) {
            try {
              await keepingMembership(payload, heartbeatIntervalMs(o.sessionTimeoutMs), () => retry(() => o.handle([item], context)));
            } catch (single) {
              if (this.abort.signal.aborted || isRetriable(single) || single instanceof RejoinGroupError) throw single;
              poison.push(toLetter(item.message, topic, partition, single));
            }
          }
        }
      }
      if (poison.length > 0) {
        for (const letter of poison) await o.onPoison?.(letter).catch((error: unknown) => o.logger.warn('onPoison failed', { error }));
        await retry(() => sendDeadLetters(this.producer, o.deadLetterTopic, o.groupId, poison));
        this.deadLettered.inc({ role: o.role, topic }, poison.length);
        for (const letter of poison)
          o.logger.warn('dead-lettered a message', {
            topic,
            partition,
            offset: letter.message.offset,
            code: letter.code,
            reason: letter.reason,
          });
      }
      this.handleSeconds.observe({ role: o.role }, (performance.now() - started) / 1000);
      this.batchSize.observe({ role: o.role }, slice.length);

      this.retrying = false;
      const last = slice[slice.length - 1];
      if (!last) continue;
      const next = (BigInt(last.offset) + 1n).toString();
      payload.resolveOffset(last.offset);
      if (o.commitInBackground && isRunning()) {
        this.commitSoon(topic, partition, next, (offsets) => payload.commitOffsetsIfNecessary(offsets));
        this.processed.inc({ role: o.role, topic }, good.length);
        await heartbeat();
        continue;
      }
      // Only now, after the handler's writes were acknowledged, is the position made durable.
      // Committed through the batch (not consumer.commitOffsets, whose own retries hide a moved
      // coordinator for minutes). A member the group moved on from (it was frozen), or whose
      // coordinator died, rejoins: the batch stays uncommitted and is redone (idempotent writes).
      try {
        await retry(() =>
          groupCall(
            'commit',
            () => payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] }),
            coordinatorFailures,
          ),
        );
      } catch (error) {
        if (error instanceof RejoinGroupError) o.logger.warn('rejoining the consumer group', { error, topic, partition });
        throw error;
      }
      this.processed.inc({ role: o.role, topic }, good.length);
      await heartbeat();
    }
  }

  /** Queues a commit; one loop sends them one at a time, each partition's latest offset only. */
  private commitSoon(topic: string, partition: number, offset: string, commit: EachBatchPayload['commitOffsetsIfNecessary']): void {
    this.toCommit.set(`${topic}\u0000${partition}`, { topic, partition, offset, commit });
    this.committing ??= this.commitLoop();
  }

  private async commitLoop(): Promise<void> {
    try {
      // Yield first: commits queued by the batches handled in this turn go out together.
      await Promise.resolve();
      while (this.toCommit.size > 0) {
        const queued = [...this.toCommit.values()];
        this.toCommit.clear();
        for (const { topic, partition, offset, commit } of queued) {
          try {
            await commit({ topics: [{ topic, partitions: [{ partition, offset }] }] });
          } catch (error) {
            // The next batch's commit carries a later offset; until then this one is redone if
            // the partition moves.
            this.options.logger.warn('a background offset commit failed', { error, topic, partition, offset });
          }
        }
      }
    } finally {
      // Runs in the same turn as the last check of the queue, so nothing queued is stranded.
      this.committing = undefined;
    }
  }
}

function toLetter(message: KafkaMessage, topic: string, partition: number, error: unknown): DeadLetter {
  // A ContractError's code (`invalid-json`, `media-unreachable`, ...), any other error's own code, or `handler-failed`.
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : 'handler-failed';
  const reason = error instanceof Error ? error.message : String(error);
  return { message, topic, partition, code, reason };
}

/** A third of the session (Kafka's advice), at most 3 s: a member misses two heartbeats before it is dropped. */
function heartbeatIntervalMs(sessionTimeoutMs = 30_000): number {
  return Math.min(3_000, Math.floor(sessionTimeoutMs / 3));
}

/**
 * Heartbeats while a handler runs. kafkajs heartbeats only when asked, between batches; a batch
 * slower than the session timeout (a large embedding batch on a loaded machine) would get the
 * member dropped from its group, its commit refused, and the same batch redone forever. The
 * handler's heavy work runs off the event loop (inference worker, I/O), so a timer still fires.
 * A failed heartbeat is left to the awaited one after the batch, which rejoins if it must.
 */
async function keepingMembership<R>(payload: EachBatchPayload, intervalMs: number, handle: () => Promise<R>): Promise<R> {
  const timer = setInterval(() => void payload.heartbeat().catch(() => undefined), intervalMs);
  try {
    return await handle();
  } finally {
    clearInterval(timer);
  }
}
