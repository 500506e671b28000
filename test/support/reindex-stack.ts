import type { Redis } from 'ioredis';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, mediaEncoderSettings, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { queryEncoder } from '../../consumers/query/index.ts';
import { ReindexQueue, ReindexWorker, type ReindexJobSummary } from '../../consumers/reindex/index.ts';
import { RedisWriteFences } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { cachedMediaEncoder } from '../../infra/models/index.ts';
import { closeAll, type CleanupStep } from '../../topology/index.ts';
import { waitFor, type Harness } from './harness.ts';
import { startQueryStack, type QueryStack } from './query-stack.ts';

// What every re-index test runs on one namespace: a live encoder (text and media, in one group)
// writing through the write fences a rebuild closes, a reindex worker (with query encoders, so gates can run), the queue that asks it
// for rebuilds, and the query path. The encoders are the test's: it loads and closes them.

export interface ReindexStack {
  /** The connection the worker, the queue and the fences share; also free for the test's own reads. */
  redis: Redis;
  /** null with `live: false` (the test indexes by other means and no encoder runs during rebuilds). */
  live: EncoderConsumer | null;
  worker: ReindexWorker;
  queue: ReindexQueue;
  query: QueryStack;
  /** One of the given encoders by model id; rejects for a model the test did not load. */
  encoderOf(modelId: string): Promise<OnnxEncoder>;
  /** Removes the queue's jobs and stops everything started here, in reverse order. */
  close(): Promise<void>;
}

export async function startReindexStack(
  h: Harness,
  encoders: readonly OnnxEncoder[],
  options: { live?: boolean; queryTimeoutMs?: number } = {},
): Promise<ReindexStack> {
  const encoderOf = (modelId: string): Promise<OnnxEncoder> => {
    const encoder = encoders.find((e) => e.spec.id === modelId);
    return encoder ? Promise.resolve(encoder) : Promise.reject(new Error(`the test loaded no encoder for ${modelId}`));
  };
  const redis = createRedis(h.services.redis, `test-${h.namespace}-reindex-stack`);
  const steps: CleanupStep[] = [{ name: 'disconnect Redis', run: () => redis.disconnect() }];
  // Every step runs even when one throws; the failures are reported together.
  const close = (): Promise<void> => closeAll('the re-index test stack', steps.splice(0).reverse());
  try {
    // Loaded on first use: a test that indexes no media never loads a media model.
    const media = cachedMediaEncoder(mediaEncoderSettings(h.config.media));
    steps.push({ name: 'close the media models', run: () => media.close() });
    let live: EncoderConsumer | null = null;
    if (options.live !== false) {
      const consumer = new EncoderConsumer({
        kafka: h.kafka,
        qdrant: h.qdrant,
        topology: h.topology,
        config: h.config,
        encoder: async (id) => documentEncoder(await encoderOf(id)),
        media,
        fences: new RedisWriteFences(redis, h.topology),
      });
      steps.push({ name: 'close the live encoder', run: () => consumer.close() });
      await consumer.start();
      live = consumer;
    }
    const query = await startQueryStack(h, [...encoders], {
      media,
      ...(options.queryTimeoutMs !== undefined ? { timeoutMs: options.queryTimeoutMs } : {}),
    });
    steps.push({ name: 'close the query stack', run: () => query.close() });
    const worker = new ReindexWorker({
      media,
      connection: redis,
      redis,
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: async (id) => documentEncoder(await encoderOf(id)),
      queryEncoder: async (id) => queryEncoder(await encoderOf(id)),
    });
    steps.push({ name: 'close the reindex worker', run: () => worker.close() });
    await worker.start();
    const queue = new ReindexQueue({ connection: redis, redis, topology: h.topology, config: h.config });
    steps.push({
      name: 'empty and close the queue',
      run: async () => {
        await queue.queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      },
    });
    return { redis, live, worker, queue, query, encoderOf, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** A rebuild job once it ended, completed with its result or failed with its reason (the job and its state are two reads). */
export function jobEnded(queue: ReindexQueue, jobId: string, timeoutMs = 600_000): Promise<ReindexJobSummary> {
  return waitFor(
    `rebuild job ${jobId} to end`,
    async () => {
      const j = await queue.get(jobId);
      return (j?.state === 'completed' && j.result) || (j?.state === 'failed' && j.failedReason) ? j : undefined;
    },
    timeoutMs,
    200,
  );
}
