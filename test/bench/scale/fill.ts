// Filling the collection: a real sample published through the bus and indexed by the encoder group,
// then the rest written straight to Qdrant as copies of the sample's points whose dense vector is
// perturbed (Gaussian noise, re-normalised), so the vectors keep the model's distribution.
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { IngestProducer } from '../../../producers/ingest/index.ts';
import { pointId, VECTOR_NAMES } from '../../../topology/index.ts';
import type { CorpusDoc } from '../../support/corpus.ts';
import { waitFor } from '../../support/harness.ts';

/** Tenants the points are spread over; searches filter on one of them. */
const TENANTS = 10;
export const tenantOf = (i: number): string => `tenant-${i % TENANTS}`;

/** Per-dimension noise: with 384 unit-length dimensions this keeps a copy at cosine ~0.98 of its seed. */
const NOISE_SIGMA = 0.01;
const BATCH = 256;
const WRITERS = 2;
const PROGRESS_EVERY = 50_000;

type Sparse = { indices: number[]; values: number[] };
export interface Seed {
  dense: number[];
  sparse: Sparse | null;
  payload: Record<string, unknown>;
}

/** Points of the chunk-0 of these documents in the collection, counted exactly. */
async function countDocuments(qdrant: QdrantClient, collection: string, docIds: string[]): Promise<number> {
  const filter = {
    must: [
      { key: 'doc_id', match: { any: docIds } },
      { key: 'chunk', match: { value: 0 } },
    ],
  };
  return (await qdrant.count(collection, { filter, exact: true })).count;
}

/**
 * Publishes documents through the bus and waits until the encoder group has written every one of
 * them; returns documents per second from the first send to the last document indexed.
 */
export async function ingestThroughBus(
  producer: IngestProducer,
  qdrant: QdrantClient,
  collection: string,
  docs: Array<CorpusDoc & { tenant: string }>,
): Promise<number> {
  const started = performance.now();
  for (let from = 0; from < docs.length; from += 100) {
    await producer.upsert(docs.slice(from, from + 100).map((d) => ({ id: d.id, tenant: d.tenant, title: d.title, text: d.text })));
  }
  const ids = docs.map((d) => d.id);
  await waitFor(
    `${docs.length} documents indexed through the bus`,
    async () => ((await countDocuments(qdrant, collection, ids)) >= docs.length ? true : undefined),
    1_800_000,
    250,
  );
  return docs.length / ((performance.now() - started) / 1000);
}

/** Every point of the collection with its vectors and payload: the seeds the loader copies. */
export async function readSeeds(qdrant: QdrantClient, collection: string, sparseName: string | null): Promise<Seed[]> {
  const seeds: Seed[] = [];
  let offset: string | number | undefined;
  do {
    const page = await qdrant.scroll(collection, {
      limit: 512,
      with_payload: true,
      with_vector: true,
      ...(offset === undefined ? {} : { offset }),
    });
    for (const p of page.points) {
      const vectors = p.vector as Record<string, unknown>;
      seeds.push({
        dense: vectors[VECTOR_NAMES.text] as number[],
        sparse: sparseName ? ((vectors[sparseName] as Sparse | undefined) ?? null) : null,
        payload: p.payload ?? {},
      });
    }
    offset = (page.next_page_offset as string | number | null | undefined) ?? undefined;
  } while (offset !== undefined);
  return seeds;
}

function gaussian(): number {
  // Box-Muller; 1 - random() keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

function perturbed(vector: number[]): number[] {
  const out = vector.map((x) => x + NOISE_SIGMA * gaussian());
  const norm = Math.hypot(...out);
  return out.map((x) => x / norm);
}

/**
 * Writes points `from` .. `to` - 1 directly (the Qdrant client, `wait: true`), each a perturbed copy
 * of a seed in a document of its own; returns points per second.
 */
export async function loadDirect(
  qdrant: QdrantClient,
  collection: string,
  seeds: Seed[],
  range: { from: number; to: number },
  sparseName: string | null,
  progress: (written: number, perSecond: number) => void = () => undefined,
): Promise<number> {
  const started = performance.now();
  const rate = (): number => (next - range.from) / ((performance.now() - started) / 1000);
  let next = range.from;
  const point = (i: number) => {
    const seed = seeds[i % seeds.length]!;
    const tenant = tenantOf(i);
    const docId = `synthetic-${i}`;
    const vector: Record<string, number[] | Sparse> = { [VECTOR_NAMES.text]: perturbed(seed.dense) };
    if (sparseName && seed.sparse) vector[sparseName] = seed.sparse;
    const payload = { ...seed.payload, doc_id: docId, chunk: 0, chunks: 1, tenant, ingested_at: new Date().toISOString() };
    return { id: pointId(tenant, docId, 0), vector, payload };
  };
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < range.to) {
        const from = next;
        next = Math.min(range.to, next + BATCH);
        const points = Array.from({ length: next - from }, (_, k) => point(from + k));
        await qdrant.upsert(collection, { wait: true, points });
        if (Math.floor(next / PROGRESS_EVERY) > Math.floor(from / PROGRESS_EVERY)) progress(next, rate());
      }
    }),
  );
  return rate();
}

/** Writes the seeds themselves, unchanged (a second pass starts from the sample the first one encoded). */
export async function writeSeeds(qdrant: QdrantClient, collection: string, seeds: Seed[], sparseName: string | null): Promise<void> {
  for (let from = 0; from < seeds.length; from += BATCH) {
    const points = seeds.slice(from, from + BATCH).map((seed) => {
      const vector: Record<string, number[] | Sparse> = { [VECTOR_NAMES.text]: seed.dense };
      if (sparseName && seed.sparse) vector[sparseName] = seed.sparse;
      const { tenant, doc_id: docId, chunk } = seed.payload as { tenant: string; doc_id: string; chunk: number };
      return { id: pointId(tenant, docId, chunk), vector, payload: seed.payload };
    });
    await qdrant.upsert(collection, { wait: true, points });
  }
}
