import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import {
  closeAll,
  ConnectionScope,
  decodeSearchReply,
  quitGracefully,
  StartDeadline,
  encodeSearchRequest,
  HEADERS,
  inSpan,
  SpanKind,
  traceHeaders,
  isErrorReply,
  type CodeQuery,
  type MediaQuery,
  type SearchRequestV1,
  nextReady,
  type LifecycleState,
  type SearchFilter,
  type SearchMode,
  type SearchHit,
  type Topology,
  RejectedError,
  TimeoutError,
  UnavailableError,
  type SearchErrorCode,
} from '../../topology/index.ts';
import { HedgePlanner } from './hedge-planner.ts';
import { LiveLeaderPartitioner } from './live-leader-partitioner.ts';

export interface SearchClientOptions {
  kafka: Kafka;
  /**
   * A connection of its own: the client puts it in subscriber mode (so it can do nothing else)
   * and quits it on close().
   */
  redis: Redis;
  topology: Topology;
  /** Names the reply channel; unique per client instance by default. */
  clientId?: string;
  defaultTimeoutMs?: number;
  /**
   * A search unanswered this long is sent once more, under the same id, to the request partition
   * that answered most recently, and the first reply wins (hedge-planner.ts): a query process that
   * died without leaving costs its searches this delay instead of their timeout. Default 1000; 0
   * turns hedging off. Searches with `after` are never hedged: they wait for the index by design.
   * (SEARCHBUS_QUERY_HEDGE_AFTER_MS)
   */
  hedgeAfterMs?: number;
  /** The longest connect() may take (SEARCHBUS_START_TIMEOUT_MS); default 60 s. */
  startTimeoutMs?: number;
}

export interface SearchQuery {
  /** Exactly one of text, code, image and audio: words, source code, or a query by example (inline base64 or a uri). */
  text?: string;
  code?: CodeQuery;
  image?: MediaQuery;
  audio?: MediaQuery;
  /** Documents wanted; default 10. The query consumer refuses values above its maxTopK. */
  topK?: number;
  filter?: SearchFilter;
  tenant?: string;
  /** dense, sparse or hybrid; default: hybrid where the collection has sparse vectors, else dense. */
  mode?: SearchMode;
  /**
   * A position token, as IngestProducer's sends resolve with: the reply waits (within the
   * timeout) until the index holds every document published up to it, else the search fails with
   * a RejectedError `not-yet-indexed` whose `details.lag` says how far behind each partition was.
   */
  after?: string;
}

export interface SearchOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SearchResult {
  id: string;
  hits: SearchHit[];
  model: string;
  /** The mode the query ran in (absent in replies from consumers older than modes). */
  mode?: SearchMode;
  /** Time the query consumer spent on the batch holding this request. */
  tookMs: number;
  /** Time from publishing the request to receiving the reply, measured here. */
  latencyMs: number;
}

export interface SearchClientStats {
  sent: number;
  answered: number;
  errorReplies: number;
  timedOut: number;
  /** Searches sent a second time, to another request partition, after going unanswered for hedgeAfterMs. */
  hedged: number;
  /** Replies to requests that had already timed out here. */
  lateReplies: number;
  /** Replies naming a request this client never sent (or answered twice after a redelivery). */
  unknownReplies: number;
  malformedReplies: number;
}

interface Pending {
  resolve(result: SearchResult): void;
  reject(error: Error): void;
  startedAt: number;
  timer: NodeJS.Timeout;
  /** Sends the search again elsewhere, unless answered first. */
  hedgeTimer?: NodeJS.Timeout;
  /** The request partition its first send went to, once acknowledged. */
  partition?: number;
  hedged?: boolean;
}

const DEFAULT_TOP_K = 10;
const DEFAULT_HEDGE_AFTER_MS = 1_000;
// Long enough to tell a late reply from an unknown one; short enough to bound memory.
const TIMED_OUT_MEMORY_MS = 5 * 60_000;
const TIMED_OUT_MEMORY_MAX = 10_000;

/**
 * Request/reply search over the bus: publishes a request on the Kafka request topic and waits for
 * the reply on its own Redis channel, which it subscribes to once, before any request is sent,
 * so no reply can arrive unheard. One client runs any number of searches concurrently; replies
 * are matched to requests by id.
 */
export class SearchClient {
  readonly clientId: string;
  readonly replyChannel: string;
  private readonly producer: Producer;
  private readonly hedges = new HedgePlanner();
  /** A retried send goes to a partition another broker leads (live-leader-partitioner.ts), a new one to a partition not stalled. */
  private readonly partitioner = new LiveLeaderPartitioner(this.hedges);
  private readonly pending = new Map<string, Pending>();
  private readonly timedOut = new Map<string, number>();
  private readonly statsValue: SearchClientStats = {
    sent: 0,
    hedged: 0,
    answered: 0,
    errorReplies: 0,
    timedOut: 0,
    lateReplies: 0,
    unknownReplies: 0,
    malformedReplies: 0,
  };
  private stateValue: LifecycleState = 'idle';
  private producerConnected = false;
  /** The reply channel's subscription is confirmed on the current Redis connection. */
  private subscribed = false;
  private subscribedWaiters: Array<() => void> = [];
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private released: Promise<void> | undefined;
  /** Aborted by close(): a connect() in progress gives up at once. */
  private readonly closeSignal = new AbortController();
  /** The producer's Kafka sockets, for close() during connect(). */
  private readonly connections = new ConnectionScope();

  constructor(private readonly options: SearchClientOptions) {
    this.clientId = options.clientId ?? randomUUID();
    this.replyChannel = options.topology.redis.replyChannel(this.clientId);
    this.producer = options.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: this.partitioner.create });
    this.producer.on(this.producer.events.CONNECT, () => (this.producerConnected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.producerConnected = false));
    options.redis.on('message', (channel: string, message: string) => {
      if (channel === this.replyChannel) this.onReply(message);
    });
    // A lost connection loses the subscription. ioredis subscribes again once it reconnects, but
    // reports "ready" before Redis has confirmed that; subscribing here too (a repeat is harmless)
    // tells us when replies can be heard again, and searches wait for it before sending.
    options.redis.on('close', () => {
      this.subscribed = false;
      // Replies published while the connection is down are lost (pub/sub keeps nothing), so the
      // searches waiting for one fail now, typed, instead of waiting out their timeouts.
      if (this.stateValue === 'running')
        for (const id of [...this.pending.keys()])
          this.settle(id, (p) => p.reject(redisUnavailable(`the Redis connection carrying the reply to search ${id} was lost`)));
    });
    options.redis.on('ready', () => {
      if (this.stateValue !== 'running') return;
      this.options.redis.subscribe(this.replyChannel).then(
        () => this.markSubscribed(),
        () => undefined, // The connection dropped again; the next "ready" retries.
      );
    });
  }

  /** 'starting' while connect() runs, 'running' once connected, 'closing' and 'closed' after close() (or a failed connect()). */
  get state(): LifecycleState {
    return this.stateValue;
  }

  get stats(): Readonly<SearchClientStats> {
    return { ...this.statsValue };
  }

  /** Connected to Kafka and subscribed on Redis: a search sent now can be answered. */
  isReady(): boolean {
    const { kafka, redis } = this.readiness();
    return this.stateValue === 'running' && kafka && redis;
  }

  /** Each connection a search needs, and whether it is up: what /readyz names when it is not ready. */
  readiness(): { kafka: boolean; redis: boolean } {
    return { kafka: this.producerConnected, redis: this.subscribed && this.options.redis.status === 'ready' };
  }

  /**
   * Subscribes, then connects the producer, within `startTimeoutMs`. Safe to call many times;
   * search() calls it. On failure (timeout, close() meanwhile) the client closes itself.
   */
  connect(): Promise<void> {
    this.connecting ??= this.connections.run(async () => {
      if (this.closing) throw clientClosed('search client is closed');
      this.stateValue = 'starting';
      const deadline = new StartDeadline('the search client', this.options.startTimeoutMs ?? 60_000, this.closeSignal.signal);
      try {
        await deadline.step(
          `subscribe to its reply channel ${this.replyChannel} on Redis`,
          () => untilReady(this.options.redis).then(() => this.options.redis.subscribe(this.replyChannel)),
          'check that Redis answers at REDIS_URL',
        );
        this.markSubscribed();
        await deadline.step('connect its producer to Kafka', () => this.producer.connect(), 'check that Kafka answers at KAFKA_BROKERS');
      } catch (error) {
        this.closeSignal.abort();
        await this.release();
        throw error;
      }
      if (this.closing) throw clientClosed('search client was closed while connecting');
      this.stateValue = 'running';
    });
    return this.connecting;
  }

  /**
   * One search, as a client span of the active trace (a no-op without an OpenTelemetry SDK); its
   * trace context rides the request's headers and envelope to the query consumer.
   */
  search(query: SearchQuery, options: SearchOptions = {}): Promise<SearchResult> {
    return inSpan(
      'searchbus.search',
      SpanKind.CLIENT,
      { 'messaging.system': 'kafka', 'messaging.destination.name': this.options.topology.topics.searchRequests },
      async (span) => {
        const result = await this.searchOnce(query, options, traceHeaders());
        span.setAttributes({ 'searchbus.request_id': result.id, 'searchbus.hits': result.hits.length });
        return result;
      },
    );
  }

  private async searchOnce(query: SearchQuery, options: SearchOptions, trace: Record<string, string>): Promise<SearchResult> {
    if (this.closing) throw clientClosed('search client is closed');
    await this.connect();
    options.signal?.throwIfAborted();
    // No reply can be heard while Redis is down; after a reconnect, the search waits (within its
    // timeout) for the subscription to be confirmed.
    if (!redisUsable(this.options.redis.status)) throw redisUnavailable(`Redis is unreachable (${this.options.redis.status})`);
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs ?? 5_000;
    const id = randomUUID();
    const startedAt = performance.now();
    const deadline = Date.now() + timeoutMs;
    const result = new Promise<SearchResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.rememberTimedOut(id);
        this.statsValue.timedOut += 1;
        reject(new TimeoutError('search-timeout', `no reply to search ${id} within ${timeoutMs} ms`, { timeoutMs }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, startedAt, timer });
    });
    const hedgeAfterMs = this.options.hedgeAfterMs ?? DEFAULT_HEDGE_AFTER_MS;
    if (hedgeAfterMs > 0 && hedgeAfterMs < timeoutMs && query.after === undefined) {
      const entry = this.pending.get(id);
      if (entry) entry.hedgeTimer = setTimeout(() => void this.hedge(id, query, deadline, trace), hedgeAfterMs);
    }
    // The reply can beat the broker's acknowledgement of the send; until `await result` below,
    // a rejection would otherwise count as unhandled.
    result.catch(() => undefined);
    const onAbort = (): void => {
      this.settle(id, (p) => p.reject(toError(options.signal?.reason)));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Not awaited: a send that keeps retrying (broker down, leader moving) must not hold the
    // search past its timeout, which `result` enforces.
    void this.send(id, query, deadline, trace).then((partition) => {
      const entry = this.pending.get(id);
      if (entry && partition !== undefined) entry.partition = partition;
    });
    this.hedges.sent();
    try {
      return await result;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The search went unanswered for the hedge delay: its partition is taken as stalled, and the
   * request is sent once more to the partition that answered most recently, budget permitting.
   */
  private async hedge(id: string, query: SearchQuery, deadline: number, trace: Record<string, string>): Promise<void> {
    const entry = this.pending.get(id);
    if (!entry || entry.hedged) return;
    if (entry.partition !== undefined) this.hedges.stalled(entry.partition);
    const target = this.partitioner.hedgeTarget(entry.partition);
    if (target === undefined || !this.hedges.spend()) return;
    entry.hedged = true;
    this.statsValue.hedged += 1;
    await this.send(id, query, deadline, trace, target);
  }

  /**
   * Publishes the request once the reply channel is subscribed, unless the search was settled
   * meanwhile (timed out, aborted, closed), and resolves with the partition it went to. A failed
   * send fails the search at once.
   */
  private async send(
    id: string,
    query: SearchQuery,
    deadline: number,
    trace: Record<string, string>,
    partition?: number,
  ): Promise<number | undefined> {
    await this.whenSubscribed();
    if (!this.pending.has(id)) return undefined;
    try {
      const [written] = await this.producer.send({
        topic: this.options.topology.topics.searchRequests,
        acks: -1,
        messages: [
          {
            key: id,
            value: encodeSearchRequest({
              id,
              query: requestQuery(query),
              topK: query.topK ?? DEFAULT_TOP_K,
              ...(query.filter !== undefined ? { filter: query.filter } : {}),
              ...(query.tenant !== undefined ? { tenant: query.tenant } : {}),
              ...(query.mode !== undefined ? { mode: query.mode } : {}),
              ...(query.after !== undefined ? { after: query.after } : {}),
              replyTo: this.replyChannel,
              deadline,
              ...trace,
            }),
            // Lets the consumer answer even a request whose body it cannot parse.
            headers: { [HEADERS.replyTo]: this.replyChannel, ...trace },
            ...(partition !== undefined ? { partition } : {}),
          },
        ],
      });
      this.statsValue.sent += 1;
      return written?.partition;
    } catch (error) {
      // A hedge that fails leaves the search to its first send.
      if (partition !== undefined) return undefined;
      this.settle(id, (p) =>
        p.reject(
          new UnavailableError('publish-failed', `publishing search ${id} failed: ${(error as Error).message}`, {
            cause: error,
            retriable: false,
          }),
        ),
      );
      return undefined;
    } finally {
      this.partitioner.done(id);
    }
  }

  private markSubscribed(): void {
    this.subscribed = true;
    const waiters = this.subscribedWaiters;
    this.subscribedWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once replies can be heard, or when the client closes. */
  private whenSubscribed(): Promise<void> {
    if (this.subscribed || this.closing) return Promise.resolve();
    return new Promise((resolve) => this.subscribedWaiters.push(resolve));
  }

  /**
   * Fails every search in flight, unsubscribes and disconnects. Safe to call twice; returns
   * promptly during connect(). Every step runs even when one throws (CleanupError lists them).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stateValue = 'closing';
      for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(clientClosed('search client closed')));
      this.markSubscribed(); // Wakes sends waiting for a subscription; their searches are settled already.
      this.subscribed = false;
      this.closeSignal.abort();
      await this.connecting?.catch(() => undefined);
      await this.release();
    })();
    return this.closing;
  }

  /** The cleanup itself, shared by close() and a failed connect(). */
  private release(): Promise<void> {
    this.released ??= this.connections.run(async () => {
      const redis = this.options.redis;
      try {
        await closeAll('the search client', [
          // QUIT ends the subscription too, and is bounded; an UNSUBSCRIBE to a frozen server is not.
          { name: 'close the Redis connection', run: () => quitGracefully(redis) },
          { name: 'disconnect the Kafka producer', run: () => this.producer.disconnect() },
        ]);
      } finally {
        this.connections.close('the search client is closed');
        this.stateValue = 'closed';
      }
    });
    return this.released;
  }

  private onReply(message: string): void {
    let reply;
    try {
      reply = decodeSearchReply(message);
    } catch {
      this.statsValue.malformedReplies += 1;
      return;
    }
    const matched = this.settle(reply.id, (p) => {
      // Only a search sent to one partition tells which partition answered.
      if (!p.hedged && p.partition !== undefined) this.hedges.answered(p.partition);
      if (isErrorReply(reply)) {
        this.statsValue.errorReplies += 1;
        p.reject(searchRejected(reply.error.code, reply.error.message, reply.error.lag));
      } else {
        this.statsValue.answered += 1;
        p.resolve({
          id: reply.id,
          hits: reply.hits,
          model: reply.model,
          ...(reply.mode !== undefined ? { mode: reply.mode } : {}),
          tookMs: reply.tookMs,
          latencyMs: performance.now() - p.startedAt,
        });
      }
    });
    if (matched) return;
    if (this.timedOut.has(reply.id)) {
      this.timedOut.delete(reply.id);
      this.statsValue.lateReplies += 1;
    } else {
      this.statsValue.unknownReplies += 1;
    }
  }

  private settle(id: string, action: (pending: Pending) => void): boolean {
    const pending = this.pending.get(id);
    if (!pending) return false;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    clearTimeout(pending.hedgeTimer);
    action(pending);
    return true;
  }

  private rememberTimedOut(id: string): void {
    const now = Date.now();
    for (const [old, at] of this.timedOut) {
      if (now - at < TIMED_OUT_MEMORY_MS && this.timedOut.size < TIMED_OUT_MEMORY_MAX) break;
      this.timedOut.delete(old);
    }
    this.timedOut.set(id, now);
  }
}

/**
 * ioredis writes SUBSCRIBE at once on a connection that is past TCP connect but still running its
 * ready check; the connection then turns subscriber-only, the check's INFO fails and the
 * connection is torn down. Queued before connect or sent once ready, SUBSCRIBE is safe.
 */
async function untilReady(redis: Redis): Promise<void> {
  if (redis.status !== 'connect') return;
  await nextReady(redis, () => clientClosed('the Redis connection ended before it was ready'));
}

/**
 * The query consumer answered with an error: a RejectedError with the reply's code, `unavailable`
 * retriable, the others not (the same request fails the same way).
 */
function searchRejected(code: SearchErrorCode, message: string, lag?: Record<string, number>): RejectedError<SearchErrorCode> {
  // Not yet indexed may pass by itself: the index catches up.
  return new RejectedError(code, `${code}: ${message}`, {
    retriable: code === 'unavailable' || code === 'not-yet-indexed',
    ...(lag !== undefined ? { details: { lag } } : {}),
  });
}

/** Connected, or past TCP connect and running ioredis' ready check: a reply can be heard soon. */
function redisUsable(status: Redis['status']): boolean {
  return status === 'ready' || status === 'connect';
}

/** Replies travel over Redis: without it a search fails at once (UnavailableError `redis-unavailable`, retriable). */
function redisUnavailable(message: string): UnavailableError {
  return new UnavailableError('redis-unavailable', `${message}; check that Redis answers at REDIS_URL`, { retriable: true });
}

/** The client was closed before the search completed, or was used after close (UnavailableError `client-closed`). */
function clientClosed(message: string): UnavailableError {
  return new UnavailableError('client-closed', message, { retriable: false });
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'search aborted');
}

/** The envelope's `query`: the one of text, code, image and audio the caller gave (the consumer checks it). */
function requestQuery(query: SearchQuery): SearchRequestV1['query'] {
  if (query.code !== undefined) return { code: query.code };
  if (query.image !== undefined) return { image: query.image };
  if (query.audio !== undefined) return { audio: query.audio };
  return { text: query.text ?? '' };
}
