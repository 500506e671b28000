// Re-index worker.
// Input: BullMQ jobs on the reindex queue: `rebuild` (alias + target model) and `drop-collection`
// (the previous collection, delayed by the grace period).
// Output: a new collection filled by replaying the ingest topic with a consumer group of its own,
// an atomic alias swap, and the old collection dropped after the grace period.
// Offsets: the rebuild's group commits after each batch is written to the new collection, so a
// resumed job continues where the previous worker stopped. The live index is never written to.
// On start, and then once per fence lease, it reconciles what dead workers left (fences, groups,
// partial collections); a rebuild that fails for good (last attempt, or stalled too often) is
// abandoned from the `failed` event.
import { randomUUID } from 'node:crypto';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Admin, Kafka } from 'kafkajs';
import {
  closeAll,
  ConnectionScope,
  ContractError,
  hasErrorCode,
  parseCollectionName,
  StartDeadline,
  type LifecycleState,
  type SearchbusConfig,
  type Topology,
} from '../../topology/index.ts';
import type { DocumentEncoder, MediaEncoder } from '../embedding/index.ts';
import { EvalSetStore, ShadowBoard } from '../quality/index.ts';
import { hybridFusion, type QueryEncoder } from '../query/index.ts';
import { RedisWriteFences, silentLogger, type Logger, type MetricsRegistry } from '../runtime/index.ts';
import { WatchStore } from '../watch/index.ts';
import { abandonRebuild, runRebuild } from './rebuild/index.ts';
import { reconcile } from './reconcile.ts';
import { retireWatches, type RetireWatchesContext } from './retire-watches.ts';
import { cancelKey, ReindexQueue } from './reindex-queue.ts';
import { JOB_NAMES, type DropCollectionJobData, type ReindexJobData, type ReindexResult } from './reindex-types.ts';

export interface ReindexWorkerOptions {
  connection: ConnectionOptions;
  redis: Redis;
  kafka: Kafka;
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
  encoder: (modelId: string) => Promise<DocumentEncoder>;
  /**
   * Embeds the images, audio and videos of replayed documents and extracts the text of their
   * document files (and OCR text of images), so a rebuild never drops media. The caller owns it
   * (and closes it after the worker); its models load on the first medium met.
   */
  media: MediaEncoder;
  /** For the quality gate: queries embedded with each collection's own model. Without it a gated rebuild is refused. */
  queryEncoder?: (modelId: string) => Promise<QueryEncoder>;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/** Most chunks one gate query may pull while looking for its documents (as the query consumer). */
const GATE_MAX_CHUNKS_PER_QUERY = 1000;

export class ReindexWorker {
  private worker: Worker | undefined;
  private admin: Admin | undefined;
  private drops: ReindexQueue | undefined;
  private readonly closeSignal = new AbortController();
  private stateValue: LifecycleState = 'idle';
  private closing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  /** The admin's Kafka sockets, for close() during start(). */
  private readonly connections = new ConnectionScope();
  private readonly logger: Logger;
  private readonly fences: RedisWriteFences;
  /** Abandon steps started from `failed` events; close() waits for them. */
  private readonly cleanups = new Set<Promise<void>>();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private readonly media: MediaEncoder;

  constructor(private readonly options: ReindexWorkerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.fences = new RedisWriteFences(options.redis, options.topology);
    this.media = options.media;
  }

  get state(): LifecycleState {
    return this.stateValue;
  }

  /**
   * Connects the Kafka admin and the BullMQ worker within SEARCHBUS_START_TIMEOUT_MS. On failure
   * (timeout, close() meanwhile) it closes what it had opened before rejecting.
   */
  async start(): Promise<void> {
    if (this.stateValue !== 'idle')
      throw new ContractError('invalid-lifecycle-state', `cannot start a reindex worker that is ${this.stateValue}`);
    this.stateValue = 'starting';
    const deadline = new StartDeadline('the reindex worker', this.options.config.startTimeoutMs, this.closeSignal.signal);
    this.starting = this.connections.run(() => this.connect(deadline));
    try {
      await this.starting;
    } catch (error) {
      await this.close().catch((cleanup: unknown) => this.logger.error('closing after a failed start failed', { error: cleanup }));
      throw error;
    }
    if (this.closing) return this.closing;
    this.stateValue = 'running';
  }

  private async connect(deadline: StartDeadline): Promise<void> {
    const admin = (this.admin = this.options.kafka.admin());
    await deadline.step('connect its admin client to Kafka', () => admin.connect(), 'check that Kafka answers at KAFKA_BROKERS');
    this.drops = new ReindexQueue({
      connection: this.options.connection,
      redis: this.options.redis,
      topology: this.options.topology,
      config: this.options.config,
    });
    // Bounded like every other start step: with Redis away its commands wait for a reconnect forever.
    await deadline.step(
      'reconcile fences, rebuild groups and partial collections',
      () => this.reconcile(true),
      'check that Redis answers at REDIS_URL and Qdrant at QDRANT_URL',
    );
    const worker = (this.worker = new Worker<ReindexJobData | DropCollectionJobData, ReindexResult | string>(
      this.options.topology.queues.reindex,
      (job, token) => this.process(job, token),
      {
        connection: this.options.connection,
        concurrency: 1,
        lockDuration: this.options.config.reindex.lockDurationMs,
        stalledInterval: this.options.config.reindex.lockDurationMs,
        maxStalledCount: this.options.config.reindex.maxStalledCount,
      },
    ));
    let lastRedisError = '';
    const onError = (error: Error): void => {
      lastRedisError = error.message;
      // Until it is running, a connection error is reported by start() when it gives up.
      if (this.stateValue === 'running') this.logger.error('reindex worker error', { error });
    };
    worker.on('failed', (job, error) => {
      this.logger.warn('reindex job failed', { job: job?.id, error });
      if (job?.name !== JOB_NAMES.rebuild) return;
      const cleanup = this.abandonIfFinal(job as Job<ReindexJobData>).finally(() => this.cleanups.delete(cleanup));
      this.cleanups.add(cleanup);
    });
    worker.on('error', onError);
    this.drops.queue.on('error', onError);
    await deadline.step(
      `connect its BullMQ worker to Redis (queue ${this.options.topology.queues.reindex})`,
      () => worker.waitUntilReady(),
      () => `check that Redis answers at REDIS_URL${lastRedisError ? ` (last error: ${lastRedisError})` : ''}`,
    );
    // Again later: a dead worker's group cannot be deleted until its session expires, and a
    // cleanup that failed (Qdrant or Kafka briefly away) must not wait for the next restart.
    if (this.closeSignal.signal.aborted) return;
    this.reconcileTimer = setInterval(() => {
      this.reconciling ??= this.reconcile(false).finally(() => (this.reconciling = undefined));
    }, this.options.config.reindex.fenceLeaseMs);
  }

  /**
   * Stops taking jobs; a rebuild in progress is put back (delayed, not failed) with its state, so
   * the next worker resumes it. Safe to call twice; returns promptly during start(). Every step
   * runs even when one throws (CleanupError lists the failures).
   */
  close(): Promise<void> {
    this.closing ??= this.connections.run(async () => {
      const wasStarting = this.stateValue === 'starting';
      this.stateValue = 'closing';
      this.closeSignal.abort(new Error('reindex worker closing'));
      if (wasStarting) {
        this.connections.close('the reindex worker was closed while it was starting');
        await this.starting?.catch(() => undefined);
      }
      try {
        await closeAll('the reindex worker', [
          {
            name: 'stop reconciling',
            run: async () => {
              clearInterval(this.reconcileTimer);
              await this.reconciling;
            },
          },
          // Not yet running: no job to wait for, and a worker that never reached Redis must not wait for it.
          this.worker && { name: 'close the BullMQ worker', run: () => this.worker?.close(wasStarting) },
          { name: 'finish abandoning failed rebuilds', run: () => Promise.all(this.cleanups).then(() => undefined) },
          this.drops && { name: 'close the drop queue', run: () => this.drops?.close() },
          this.admin && { name: 'disconnect the Kafka admin', run: () => this.admin?.disconnect() },
        ]);
      } finally {
        this.connections.close('the reindex worker is closed');
        this.stateValue = 'closed';
      }
    });
    return this.closing;
  }

  private async scheduleDrop(drops: ReindexQueue, collection: string, alias: string, delayMs: number): Promise<void> {
    await drops.queue.add(
      JOB_NAMES.dropCollection,
      { collection, alias },
      {
        delay: delayMs,
        attempts: 10,
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: { count: 50 },
        removeOnFail: { count: 50 },
      },
    );
  }

  /** Logs every repair; a failure to reconcile is logged, not fatal: jobs still run. */
  private async reconcile(atStart: boolean): Promise<void> {
    const { admin, drops } = this;
    if (!admin || !drops) return;
    try {
      const report = await reconcile({
        qdrant: this.options.qdrant,
        admin,
        fences: this.fences,
        topology: this.options.topology,
        queue: drops.queue,
        logger: this.logger,
        scheduleDrop: (collection) =>
          this.scheduleDrop(drops, collection, this.options.topology.qdrant.alias, this.options.config.reindex.graceMs),
      });
      for (const line of report) this.logger.info(`reconciled: ${line}`);
      if (atStart || report.length > 0) this.logger.info('reindex reconciliation done', { changes: report.length, atStart });
    } catch (error) {
      this.logger.error('reindex reconciliation failed', { error });
    }
  }

  /**
   * A rebuild that failed for good (out of attempts, refused, or stalled more than
   * maxStalledCount times, which BullMQ fails without running the processor, so no catch block
   * sees it): nothing resumes it, so its fence must not stay closed nor its partial target stay.
   */
  private async abandonIfFinal(job: Job<ReindexJobData>): Promise<void> {
    const { admin, drops } = this;
    try {
      const state = job.data.state;
      if (!state || !admin || !drops || (await job.getState()) !== 'failed') return;
      const outcome = await abandonRebuild(
        {
          qdrant: this.options.qdrant,
          admin,
          fences: this.fences,
          topology: this.options.topology,
          scheduleDrop: (collection) =>
            this.scheduleDrop(drops, collection, job.data.alias, job.data.graceMs ?? this.options.config.reindex.graceMs),
        },
        state.target,
        state.groupId,
        job.data.alias,
        state.previous,
      );
      this.logger.info(`abandoned the rebuild of job ${job.id ?? ''}: ${state.target} ${outcome}`, { job: job.id });
    } catch (error) {
      this.logger.error('could not clean up an abandoned rebuild; the next reconciliation will', { job: job.id, error });
    }
  }

  private gateContext(encoder: (modelId: string) => Promise<QueryEncoder>): NonNullable<Parameters<typeof runRebuild>[1]['gate']> {
    const { qdrant, config, redis, topology } = this.options;
    return {
      evalSets: new EvalSetStore(redis, topology),
      deps: {
        encoder,
        search: async (collection, queries) => (await qdrant.queryBatch(collection, { searches: queries })).map((r) => r.points),
        now: Date.now,
        oversampling: config.query.oversampling,
        maxChunksPerQuery: GATE_MAX_CHUNKS_PER_QUERY,
        // The gate scores hybrid searches fused as live searches are.
        fusion: hybridFusion(config.query),
        maxBatchSize: config.query.maxBatchSize,
        timeoutMs: Math.max(config.query.defaultTimeoutMs, 30_000),
      },
    };
  }

  private retireContext(): RetireWatchesContext {
    const { qdrant, topology, queryEncoder } = this.options;
    return { qdrant, topology, media: this.media, ...(queryEncoder ? { queryEncoder } : {}) };
  }

  private async process(
    job: Job<ReindexJobData | DropCollectionJobData, ReindexResult | string>,
    token: string | undefined,
  ): Promise<ReindexResult | string> {
    const { qdrant } = this.options;
    if (job.name === JOB_NAMES.dropCollection) {
      const { collection, alias } = job.data as DropCollectionJobData;
      const { aliases } = await qdrant.getAliases();
      // A later rebuild may have swapped back to it; never drop what an alias serves.
      if (aliases.some((a) => a.collection_name === collection)) return `kept ${collection}: an alias points at it`;
      const watchesOf = new WatchStore(qdrant, this.options.topology).modelOf(collection);
      // A watch collection left behind (start-up reconciliation scheduled it): its watches move first.
      if (watchesOf !== null) return retireWatches(this.retireContext(), watchesOf);
      // A retry after the watches failed to move finds the collection gone already.
      if ((await qdrant.collectionExists(collection)).exists) await qdrant.deleteCollection(collection);
      await this.fences.remove(collection);
      const model = parseCollectionName(collection)?.modelId;
      const watches = model ? `; ${await retireWatches(this.retireContext(), model)}` : '';
      return `dropped ${collection} (previously behind ${alias})${watches}`;
    }

    const data = job.data as ReindexJobData;
    const redis = this.options.redis;
    const admin = this.admin;
    if (!admin || !this.drops) throw new Error('reindex worker is not started');
    const drops = this.drops;
    try {
      return await runRebuild(data, {
        kafka: this.options.kafka,
        admin,
        qdrant,
        topology: this.options.topology,
        config: this.options.config,
        fences: this.fences,
        reserveVersion: (alias, atLeast) => reserveVersion(redis, this.options.topology, alias, atLeast),
        jobId: job.id ?? '',
        // The lock token is unique per attempt: a retry must wait out a dead attempt's lease.
        leaseOwner: token ?? randomUUID(),
        encoder: this.options.encoder,
        media: this.media,
        logger: this.logger,
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
        signal: this.closeSignal.signal,
        isCancelled: async () => (await redis.get(cancelKey(this.options.topology, job.id ?? ''))) !== null,
        saveState: (state) => job.updateData({ ...data, state }),
        progress: (progress) => job.updateProgress(progress),
        log: async (line) => {
          this.logger.info(line, { job: job.id });
          await job.log(line);
        },
        scheduleDrop: (collection, delayMs) => this.scheduleDrop(drops, collection, data.alias, delayMs),
        shadow: new ShadowBoard(redis, this.options.topology),
        ...(this.options.queryEncoder ? { gate: this.gateContext(this.options.queryEncoder) } : {}),
      });
    } catch (error) {
      // A rebuild that fails for good is abandoned from the worker's `failed` event.
      if (hasErrorCode(error, 'rebuild-cancelled', 'rebuild-refused')) {
        await redis.del(cancelKey(this.options.topology, job.id ?? ''));
        throw new UnrecoverableError(error.message);
      }
      if (this.closeSignal.signal.aborted && token) {
        // Not a failure: hand the job back so another worker (or this one, restarted) resumes it.
        await job.moveToDelayed(Date.now() + 1_000, token);
        throw new DelayedError();
      }
      throw error;
    }
  }
}

/** KEYS[1] hash; ARGV alias, atLeast. One more than the last version handed out, at least atLeast. */
const RESERVE_VERSION = `
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if v < tonumber(ARGV[2]) then
  v = tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], ARGV[1], v)
end
return v`;

function reserveVersion(redis: Redis, topology: Topology, alias: string, atLeast: number): Promise<number> {
  return redis.eval(RESERVE_VERSION, 1, `${topology.redis.keyPrefix}collection-versions`, alias, String(atLeast)).then(Number);
}
