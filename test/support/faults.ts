import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { documentText, EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { MetricsRegistry } from '../../consumers/runtime/index.ts';
import type { ServiceEndpoints } from '../../infra/index.ts';
import type { DocumentInput, IngestProducer } from '../../producers/ingest/index.ts';
import type { SearchClient } from '../../producers/search-client/index.ts';
import { RejectedError, TimeoutError } from '../../topology/index.ts';
import { allPoints, createHarness, waitFor, type Harness } from './harness.ts';
import { startQueryStack, type QueryStack } from './query-stack.ts';

// What every fault case checks, and the load it runs while the fault happens.

const WORDS = (
  'river mountain enzyme protein galaxy orbit carbon lattice signal neuron market harbor glacier ' +
  'voltage membrane quartz falcon comet bridge canyon vaccine tissue cortex plasma photon basalt ' +
  'tundra monsoon reef lichen copper silicon antenna rotor piston turbine ledger tariff treaty ' +
  'sonnet fresco violin cathedral archive lantern compass harvest orchard meadow thicket'
).split(' ');

/** What a fault case breaks things under: its own service, the real model, a query stack, and a live encoder when asked. */
export interface FaultStack {
  h: Harness;
  encoder: OnnxEncoder;
  /** The live encoder consumer (`withEncoder`), reporting into `metrics`. */
  consumer: EncoderConsumer | undefined;
  stack: QueryStack;
  metrics: MetricsRegistry;
  close(): Promise<void>;
}

export async function startFaultStack(options: {
  own: Partial<ServiceEndpoints>;
  env?: Record<string, string>;
  withEncoder: boolean;
}): Promise<FaultStack> {
  const h = await createHarness({ own: options.own, ...(options.env ? { env: options.env } : {}) });
  const metrics = new MetricsRegistry();
  const encoder = await loadEncoder(h.config.model);
  let consumer: EncoderConsumer | undefined;
  if (options.withEncoder) {
    consumer = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(encoder)),
      metrics,
    });
    await consumer.start();
  }
  const stack = await startQueryStack(h, [encoder]);
  return {
    h,
    encoder,
    consumer,
    stack,
    metrics,
    async close() {
      await stack.close().catch(() => undefined);
      await consumer?.close().catch(() => undefined);
      await encoder.close();
      await h.close().catch(() => undefined);
    },
  };
}

/**
 * `count` small synthetic documents in groups of `groupSize` (metadata `group`), so that a search
 * filtered by group must return exactly that group. Every 20th one is long enough for several
 * chunks, so chunk counts are checked too.
 */
export function faultDocs(prefix: string, count: number, groupSize = 50): DocumentInput[] {
  let seed = 7;
  const next = (): number => (seed = (seed * 48271) % 2147483647);
  const words = (n: number): string => Array.from({ length: n }, () => WORDS[next() % WORDS.length]).join(' ');
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    title: `${prefix} ${i} ${words(3)}`,
    text: words(i % 20 === 0 ? 420 : 24),
    metadata: { group: `${prefix}-g${Math.floor(i / groupSize)}` },
  }));
}

export function expectedChunks(encoder: OnnxEncoder, docs: DocumentInput[]): Map<string, number> {
  return new Map(docs.map((d) => [d.id, encoder.chunk(documentText(d)).length]));
}

/**
 * Publishes in batches as a careful client does: a batch whose send fails (broker down, leader
 * moving) is sent again until it is acknowledged. Returns how many sends failed.
 */
export async function publishWithRetry(
  producer: IngestProducer,
  docs: DocumentInput[],
  options: { batchSize?: number; timeoutMs?: number; onBatch?: (published: number) => Promise<void> | void } = {},
): Promise<{ failedSends: number }> {
  const batchSize = options.batchSize ?? 20;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let failedSends = 0;
  for (let i = 0; i < docs.length; i += batchSize) {
    for (;;) {
      try {
        await producer.upsert(docs.slice(i, i + batchSize));
        break;
      } catch (error) {
        failedSends += 1;
        if (Date.now() > deadline) throw new Error(`publishing still failing after ${options.timeoutMs ?? 300_000} ms`, { cause: error });
        await delay(200);
      }
    }
    await options.onBatch?.(Math.min(i + batchSize, docs.length));
  }
  return { failedSends };
}

/** Points of the alias' collection whose doc_id starts with `prefix`, grouped by document. */
async function chunksByDoc(h: Harness, prefix: string): Promise<Map<string, number[]>> {
  const byDoc = new Map<string, number[]>();
  for (const p of await allPoints(h.qdrant, h.topology.qdrant.alias)) {
    const id = String(p.payload.doc_id);
    if (!id.startsWith(`${prefix}-`)) continue;
    byDoc.set(id, [...(byDoc.get(id) ?? []), Number(p.payload.chunk)]);
  }
  return byDoc;
}

/** Waits until every document has its first chunk in the alias' collection. */
export async function waitIndexed(h: Harness, docs: DocumentInput[], timeoutMs = 600_000): Promise<void> {
  const ids = docs.map((d) => d.id);
  await waitFor(
    `${docs.length} documents indexed`,
    async () => {
      const { count } = await h.qdrant.count(h.topology.qdrant.alias, {
        exact: true,
        filter: {
          must: [
            { key: 'chunk', match: { value: 0 } },
            { key: 'doc_id', match: { any: ids } },
          ],
        },
      });
      return count === ids.length ? count : undefined;
    },
    timeoutMs,
    500,
  );
}

/**
 * Every document is in the index exactly once: its chunks are 0..n-1, each once, and no other
 * document of this prefix is there. Then each group, searched through the bus with a filter on
 * it, returns exactly its documents, each once.
 */
export async function assertSearchableExactlyOnce(
  h: Harness,
  client: SearchClient,
  prefix: string,
  docs: DocumentInput[],
  expected: Map<string, number>,
): Promise<void> {
  const byDoc = await chunksByDoc(h, prefix);
  assert.deepEqual([...byDoc.keys()].sort(), [...expected.keys()].sort(), 'every published document is indexed, and nothing else');
  for (const [id, chunks] of expected) {
    assert.deepEqual(
      (byDoc.get(id) ?? []).sort((a, b) => a - b),
      Array.from({ length: chunks }, (_, i) => i),
      `chunks of ${id}, each once`,
    );
  }
  const groups = new Map<string, string[]>();
  for (const d of docs) {
    const group = String(d.metadata?.group);
    groups.set(group, [...(groups.get(group) ?? []), d.id]);
  }
  for (const [group, ids] of groups) {
    const result = await client.search(
      { text: 'harbor signal', topK: 100, filter: { must: [{ key: 'group', match: { value: group } }] } },
      { timeoutMs: 30_000 },
    );
    const found = result.hits.map((hit) => hit.docId);
    assert.equal(new Set(found).size, found.length, `no duplicate hits in ${group}`);
    assert.deepEqual([...found].sort(), [...ids].sort(), `a search of ${group} finds each of its documents`);
  }
}

export interface SearchOutcomes {
  answered: number;
  /** Error replies, by code. */
  errorReplies: Record<string, number>;
  timedOut: number;
  /** Any other failure (a send that failed at once, ...), by error name. */
  otherErrors: Record<string, number>;
  /** Searches that took longer than their timeout plus the allowed slack. */
  overdue: number;
  slowestMs: number;
}

/**
 * Searches without pause from `concurrency` loops until `close()` is called, recording how each
 * ended. `mark()` returns a snapshot, so a test can tell what happened during an outage.
 */
export class SearchLoad {
  readonly outcomes: SearchOutcomes = { answered: 0, errorReplies: {}, timedOut: 0, otherErrors: {}, overdue: 0, slowestMs: 0 };
  private running = true;
  private readonly loops: Promise<void>[];
  /** When each search started (performance.now()) and whether it was answered with hits. */
  private readonly ended: Array<{ startedAt: number; answered: boolean; tookMs: number }> = [];

  constructor(
    private readonly client: SearchClient,
    private readonly options: {
      concurrency: number;
      timeoutMs: number;
      slackMs?: number;
      /** Searches started per second across the loops (each loop paced); default: no pause. */
      perSecond?: number;
    },
  ) {
    this.loops = Array.from({ length: options.concurrency }, (_, i) => this.loop(i));
  }

  snapshot(): SearchOutcomes {
    return structuredClone(this.outcomes);
  }

  get errors(): number {
    const o = this.outcomes;
    return Object.values(o.errorReplies).reduce((a, b) => a + b, 0) + o.timedOut + Object.values(o.otherErrors).reduce((a, b) => a + b, 0);
  }

  /** Resolves once `more` further searches have been answered with hits. */
  async answeredMore(more: number, what: string, timeoutMs = 180_000): Promise<void> {
    const target = this.outcomes.answered + more;
    await waitFor(what, () => Promise.resolve(this.outcomes.answered >= target ? true : undefined), timeoutMs, 50);
  }

  /** Resolves once `count` searches started at or after `at` (a performance.now() value) have been answered. */
  async answeredSince(at: number, count: number, what: string, timeoutMs = 180_000): Promise<void> {
    await waitFor(what, () => Promise.resolve(this.startedSince(at).answered >= count ? true : undefined), timeoutMs, 50);
  }

  /** Resolves once `more` further searches have ended in an error of any kind. */
  async erroredMore(more: number, what: string, timeoutMs = 180_000): Promise<void> {
    const target = this.errors + more;
    await waitFor(what, () => Promise.resolve(this.errors >= target ? true : undefined), timeoutMs, 50);
  }

  /** Searches that started at or after `at` (a performance.now() value) and have ended. */
  startedSince(at: number): { answered: number; failed: number } {
    const mine = this.ended.filter((e) => e.startedAt >= at);
    const answered = mine.filter((e) => e.answered).length;
    return { answered, failed: mine.length - answered };
  }

  /** Latency percentiles (ms) of the searches started at or after `at` that have ended. */
  latencySince(at: number): { p50: number; p99: number; max: number } {
    const took = this.ended.filter((e) => e.startedAt >= at).map((e) => e.tookMs);
    took.sort((a, b) => a - b);
    const pick = (q: number): number => Math.round(took[Math.min(took.length - 1, Math.floor(q * took.length))] ?? 0);
    return { p50: pick(0.5), p99: pick(0.99), max: Math.round(took[took.length - 1] ?? 0) };
  }

  /**
   * How long after `at` the last search that failed had started (0 when none failed since `at`):
   * every search started later than that was answered.
   */
  failingUntilMs(at: number): number {
    const failed = this.ended.filter((e) => e.startedAt >= at && !e.answered);
    return failed.length === 0 ? 0 : Math.round(Math.max(...failed.map((e) => e.startedAt)) - at);
  }

  /** Ends the loops once their searches in flight end; resolves to the outcomes. Idempotent. */
  async close(): Promise<SearchOutcomes> {
    this.running = false;
    await Promise.all(this.loops);
    return this.snapshot();
  }

  private async loop(n: number): Promise<void> {
    const o = this.outcomes;
    const periodMs = this.options.perSecond ? (this.options.concurrency * 1000) / this.options.perSecond : 0;
    // Spread the paced loops over one period so the searches do not start in bursts.
    if (periodMs > 0) await delay((n * periodMs) / this.options.concurrency);
    for (let i = 0; this.running; i++) {
      const started = performance.now();
      try {
        await this.client.search(
          { text: `${WORDS[(n * 7 + i) % WORDS.length]} ${WORDS[(i * 3) % WORDS.length]}`, topK: 5 },
          { timeoutMs: this.options.timeoutMs },
        );
        o.answered += 1;
        this.ended.push({ startedAt: started, answered: true, tookMs: performance.now() - started });
      } catch (error) {
        this.ended.push({ startedAt: started, answered: false, tookMs: performance.now() - started });
        if (error instanceof RejectedError) o.errorReplies[error.code] = (o.errorReplies[error.code] ?? 0) + 1;
        else if (error instanceof TimeoutError) o.timedOut += 1;
        else {
          const name = error instanceof Error ? error.name : 'unknown';
          o.otherErrors[name] = (o.otherErrors[name] ?? 0) + 1;
          // A send that fails at once would spin; a client would back off too.
          await delay(100);
        }
      }
      const took = performance.now() - started;
      o.slowestMs = Math.max(o.slowestMs, Math.round(took));
      if (took > this.options.timeoutMs + (this.options.slackMs ?? 2_000)) o.overdue += 1;
      if (periodMs > took && this.running) await delay(periodMs - took);
    }
  }
}

/** Outcomes between two snapshots. */
export function since(before: SearchOutcomes, after: SearchOutcomes): Omit<SearchOutcomes, 'slowestMs'> {
  const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(b).flatMap(([k, v]): Array<[string, number]> => (v - (a[k] ?? 0) > 0 ? [[k, v - (a[k] ?? 0)]] : [])));
  return {
    answered: after.answered - before.answered,
    errorReplies: diff(before.errorReplies, after.errorReplies),
    timedOut: after.timedOut - before.timedOut,
    otherErrors: diff(before.otherErrors, after.otherErrors),
    overdue: after.overdue - before.overdue,
  };
}

/** Searches that did not end in hits ended in a typed searchbus error, never anything else. */
export function assertTypedFailures(outcomes: Pick<SearchOutcomes, 'otherErrors'>): void {
  for (const name of Object.keys(outcomes.otherErrors))
    assert.equal(name, 'UnavailableError', `searches fail only with typed errors (a failed publish is an UnavailableError), got ${name}`);
}

/** One line for the test log: what a fault case measured. */
export function report(what: string, figures: Record<string, unknown>): void {
  process.stderr.write(`[faults] ${what}: ${JSON.stringify(figures)}\n`);
}
