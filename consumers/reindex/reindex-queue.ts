import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SearchbusConfig, Topology } from '../../topology/index.ts';
import {
  JOB_NAMES,
  type DropCollectionJobData,
  type ReindexJobData,
  type ReindexProgress,
  type ReindexRequest,
  type ReindexResult,
} from './reindex-types.ts';

export interface ReindexJobSummary {
  id: string;
  name: string;
  state: string;
  data: ReindexJobData | DropCollectionJobData;
  progress: ReindexProgress | null;
  result: ReindexResult | null;
  failedReason: string | null;
  attemptsMade: number;
  createdAt: string;
  finishedAt: string | null;
}

/** The cancel flag a worker polls; cancellation must reach whichever process holds the job. */
export function cancelKey(topology: Topology, jobId: string): string {
  return `${topology.redis.keyPrefix}reindex-cancel:${jobId}`;
}

/**
 * Requests, schedules, cancels and lists rebuilds. At most one rebuild per alias runs at a time:
 * a request while one is waiting or running returns that one (BullMQ deduplication by alias).
 */
export class ReindexQueue {
  readonly queue: Queue<ReindexJobData | DropCollectionJobData>;

  constructor(private readonly options: { connection: ConnectionOptions; redis: Redis; topology: Topology; config: SearchbusConfig }) {
    this.queue = new Queue(options.topology.queues.reindex, { connection: options.connection });
  }

  private jobOptions(alias: string): JobsOptions {
    return {
      deduplication: { id: alias },
      attempts: this.options.config.reindex.attempts,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: { count: 50 },
      removeOnFail: { count: 50 },
    };
  }

  /** Returns the job id and whether it is a new job (false: a rebuild of this alias was already queued). */
  async request(request: ReindexRequest): Promise<{ jobId: string; created: boolean }> {
    this.validate(request);
    const alias = this.options.topology.qdrant.alias;
    const existing = await this.queue.getDeduplicationJobId(alias);
    if (existing) return { jobId: existing, created: false };
    const job = await this.queue.add(JOB_NAMES.rebuild, { ...request, alias }, this.jobOptions(alias));
    if (!job.id) throw new Error('BullMQ returned a job without an id');
    return { jobId: job.id, created: true };
  }

  /** A repeatable rebuild (e.g. nightly with the same model), as a BullMQ job scheduler. */
  async schedule(request: ReindexRequest, repeat: { everyMs?: number; cron?: string }): Promise<string> {
    this.validate(request);
    const alias = this.options.topology.qdrant.alias;
    const id = `rebuild:${alias}`;
    await this.queue.upsertJobScheduler(id, repeat.cron ? { pattern: repeat.cron } : { every: repeat.everyMs ?? 24 * 3600 * 1000 }, {
      name: JOB_NAMES.rebuild,
      data: { ...request, alias },
      opts: this.jobOptions(alias),
    });
    return id;
  }

  /** The same rule as SEARCHBUS_REINDEX_GRACE_MS: the old collection must outlive every alias cache. */
  private validate(request: ReindexRequest): void {
    const ttl = this.options.config.query.aliasCacheTtlMs;
    if (request.graceMs !== undefined && request.graceMs < 2 * ttl) {
      throw new RangeError(
        `grace period ${request.graceMs} ms is shorter than twice the alias cache lifetime (${ttl} ms, SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS)`,
      );
    }
  }

  async unschedule(): Promise<boolean> {
    return this.queue.removeJobScheduler(`rebuild:${this.options.topology.qdrant.alias}`);
  }

  /**
   * A waiting job is removed at once; an active one is flagged, and its worker removes the partial
   * collection and fails the job. Returns the job's state before cancelling.
   */
  async cancel(jobId: string): Promise<string> {
    const job = await this.queue.getJob(jobId);
    if (!job) return 'unknown';
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove();
      await this.queue.removeDeduplicationKey(this.options.topology.qdrant.alias);
    } else if (state === 'active') {
      await this.options.redis.set(cancelKey(this.options.topology, jobId), '1', 'EX', 24 * 3600);
    }
    return state;
  }

  // The state is read before the job hash: BullMQ writes a job's return value in the same script
  // that moves it to completed, so a later read of the hash always holds the result of a state
  // already seen as finished. Read the other way round, a job finishing between the two reads came
  // back 'completed' with no result (the quality-gate test caught it once in CI).
  async get(jobId: string): Promise<ReindexJobSummary | null> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'unknown') return null;
    const job = await this.queue.getJob(jobId);
    return job ? summarise(job, state) : null;
  }

  async list(limit = 10): Promise<ReindexJobSummary[]> {
    const types = ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'] as const;
    const jobs = await this.queue.getJobs([...types], 0, limit - 1, false);
    return (await Promise.all(jobs.filter((j) => j.id).map((j) => this.get(j.id ?? '')))).filter((j) => j !== null);
  }

  async schedulers(): Promise<Array<{ id: string; every: number | null; pattern: string | null; next: string | null }>> {
    return (await this.queue.getJobSchedulers()).map((s) => ({
      id: s.key,
      every: typeof s.every === 'number' ? s.every : s.every ? Number(s.every) : null,
      pattern: s.pattern ?? null,
      next: s.next ? new Date(s.next).toISOString() : null,
    }));
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

function summarise(
  job: {
    id?: string | undefined;
    name: string;
    data: unknown;
    progress: unknown;
    returnvalue: unknown;
    failedReason?: string;
    attemptsMade: number;
    timestamp: number;
    finishedOn?: number | undefined;
  },
  state: string,
): ReindexJobSummary {
  const progress = typeof job.progress === 'object' && job.progress !== null ? (job.progress as ReindexProgress) : null;
  return {
    id: job.id ?? '',
    name: job.name,
    state,
    data: job.data as ReindexJobData,
    progress,
    result: (job.returnvalue as ReindexResult | null) ?? null,
    failedReason: job.failedReason ?? null,
    attemptsMade: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}
