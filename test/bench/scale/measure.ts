// What is measured at each size: search latency through the bus, the engine's memory and disk, and
// the state of its vector index.
import type { QdrantClient } from '@qdrant/js-client-rest';
import { percentile } from '../../../infra/eval/index.ts';
import type { SearchClient } from '../../../producers/search-client/index.ts';
import type { SearchMode } from '../../../topology/index.ts';
import { waitFor } from '../../support/harness.ts';
import { tenantOf } from './fill.ts';
import { diskMb, memory, type QdrantProcess } from './qdrant-process.ts';

async function rss(pid: number): Promise<{ rss_mb: number; rss_file_mb: number }> {
  const { total, file } = await memory(pid);
  return { rss_mb: round(total, 0), rss_file_mb: round(file, 0) };
}

export interface Latency {
  p50: number;
  p99: number;
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

/**
 * Sequential searches (concurrency 1, so the figure is the latency of one search, not of a queue)
 * through SearchClient -> query consumer -> Qdrant -> reply, each filtered to one tenant. A failed
 * search is counted and not timed.
 */
export async function searchLatency(
  client: SearchClient,
  queries: string[],
  mode: SearchMode,
  count: number,
): Promise<Latency & { errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    try {
      await client.search({ text: queries[i % queries.length]!, topK: 10, mode, tenant: tenantOf(i) });
      latencies.push(performance.now() - started);
    } catch (error) {
      errors += 1;
      process.stderr.write(`search failed (${mode}): ${(error as Error).message}\n`);
    }
  }
  return { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), errors };
}

export interface EngineState {
  points: number;
  /** indexed_vectors_count as the engine reports it. */
  indexed_vectors: number;
  status: string;
  rss_mb: number | null;
  rss_file_mb: number | null;
  disk_mb: number | null;
}

export async function engineState(qdrant: QdrantClient, collection: string, engine: QdrantProcess | null): Promise<EngineState> {
  const info = await qdrant.getCollection(collection);
  return {
    points: info.points_count ?? 0,
    indexed_vectors: info.indexed_vectors_count ?? 0,
    status: info.status,
    ...(engine ? await rss(engine.pid) : { rss_mb: null, rss_file_mb: null }),
    disk_mb: engine ? round(await diskMb(engine.storage), 0) : null,
  };
}

/**
 * Milliseconds until the collection reports status green with every one of `points` vectors
 * indexed: how long searches wait for the index after a load; null if that did not happen within
 * two minutes (the run goes on and measures the collection as it is).
 */
export async function untilIndexed(qdrant: QdrantClient, collection: string, points: number): Promise<number | null> {
  const started = performance.now();
  const ready = await waitFor(
    `${points} vectors indexed`,
    async () => {
      const info = await qdrant.getCollection(collection);
      return info.status === 'green' && (info.indexed_vectors_count ?? 0) >= points ? true : undefined;
    },
    120_000,
    250,
  ).catch(() => false);
  return ready ? Math.round(performance.now() - started) : null;
}
