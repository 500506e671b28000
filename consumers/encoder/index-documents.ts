import type { QdrantClient } from '@qdrant/js-client-rest';
import { imageThumbnail, MediaDecodeError, mediaModality, sparseAnalyzer, type DocumentEncoder, type MediaEncoder, type SparseAnalyzer } from '../encoders/index.ts';
import { encodeAndWrite, inGroups } from './write-pipeline.ts';
import { documentKey, pointId, type ChunkPayload, type CollectionLayout, type IngestMessage, type Modality } from '../../topology/index.ts';

export interface IndexContext {
  qdrant: QdrantClient;
  /** A collection or an alias; writes through an alias follow it across a swap. */
  collection: string;
  encoder: DocumentEncoder;
  /**
   * The collection's vectors: each chunk gets the dense vector under `layout.dense` ('' = a legacy
   * unnamed vector) and, when the collection has one, its BM25 sparse vector from the same text.
   */
  layout: CollectionLayout;
  now?: () => Date;
  signal?: AbortSignal;
  /** Embeds the documents' images and audio; without it a document with media is a MediaDecodeError. */
  media?: MediaEncoder;
  /**
   * Where each message came from (parallel to `messages`). Given, every point records it
   * (`source_offset`) and an upsert older than what its document's first point already holds is
   * skipped: the text and media groups write the same documents, each in its own order.
   */
  sources?: ReadonlyArray<{ partition: number; offset: string }>;
  /** Documents per encode call and per upsert; the next group is encoded while one is written. */
  groupSize?: number;
  /** Wraps each phase (embed, Qdrant upsert, Qdrant delete), e.g. to record it as a trace span. */
  step?: <T>(name: 'embed' | 'qdrant upsert' | 'qdrant delete', run: () => Promise<T>) => Promise<T>;
}

/**
 * Small enough that the first write starts early and the last one, which nothing overlaps, is
 * short; large enough that an encode call still fills the model's batches.
 */
export const DEFAULT_GROUP_SIZE = 16;

export interface IndexResult {
  upserted: number;
  deleted: number;
  points: number;
}

/** The text a document is embedded from: title, then body. */
export function documentText(document: { title?: string; text?: string }): string {
  return [document.title?.trim(), document.text?.trim()].filter(Boolean).join(' ');
}

type Upsert = Extract<IngestMessage, { kind: 'upsert' }>;
type Condition = Record<string, unknown>;

/**
 * Within a batch only the last message per document, (tenant, id), counts, as after compaction.
 * The result keeps the order in which each document last appeared.
 */
export function latestPerDocument(messages: IngestMessage[]): IngestMessage[] {
  const latest = new Map<string, IngestMessage>();
  for (const message of messages) {
    const key = documentKey(message.tenant, message.id);
    latest.delete(key);
    latest.set(key, message);
  }
  return [...latest.values()];
}

/**
 * Applies a batch of ingest messages to the collection. Within a batch only the last message per
 * document counts, as after compaction. Upserts are written (wait=true) before stale chunks of
 * shorter new versions and tombstoned documents are deleted, so a crash in between leaves extra
 * chunks that the redelivered batch removes, never a missing document. Every delete names the
 * tenant as well as the id, so it never reaches another tenant's document of the same id. A
 * group's media are read and embedded in its encode phase (beside the next write); a bad medium
 * fails the batch before any delete, and the groups already written are rewritten on redelivery.
 */
export async function indexDocuments(messages: IngestMessage[], context: IndexContext): Promise<IndexResult> {
  const offsets = new Map<IngestMessage, string>();
  context.sources?.forEach((source, i) => messages[i] && offsets.set(messages[i], source.offset));
  const latest = latestPerDocument(messages);
  const stale = context.sources ? await olderThanStored(latest, offsets, context) : new Set<IngestMessage>();
  const upserts = latest.filter((m): m is Upsert => m.kind === 'upsert' && !stale.has(m));
  const deletes = latest.filter((m) => m.kind === 'delete');

  const ingestedAt = (context.now?.() ?? new Date()).toISOString();
  // The model encodes the next group while Qdrant writes this one; writes stay in order, one at a
  // time, and all are acknowledged before this returns (so before the offsets commit).
  const step = context.step ?? ((_name, run) => run());
  const sparse = context.layout.sparse ? { name: context.layout.sparse.name, analyzer: sparseAnalyzer(context.layout.sparse.analyzer) } : null;
  let points = 0;
  const encodedGroups = await encodeAndWrite(
    inGroups(upserts, context.groupSize ?? DEFAULT_GROUP_SIZE),
    (group) => encodeGroup(group, context, step),
    async (group, encoded) => {
      const batch = toPoints(group, encoded, { modelId: context.encoder.modelId, ingestedAt, dense: context.layout.dense, sparse, offsets });
      points += batch.length;
      if (batch.length > 0) await step('qdrant upsert', () => context.qdrant.upsert(context.collection, { wait: true, points: batch }));
    },
  );
  const encoded = encodedGroups.flat();

  const staleChunks = upserts.map((u, i) => ({ must: [...documentConditions(u.tenant, [u.id]), { key: 'chunk', range: { gte: encoded[i]?.chunks.length ?? 0 } }] }));
  const should = [...deletedDocuments(deletes), ...staleChunks];
  if (should.length > 0) await step('qdrant delete', () => context.qdrant.delete(context.collection, { wait: true, filter: { should } }));

  return { upserted: upserts.length, deleted: deletes.length, points };
}

interface PointShape {
  modelId: string;
  ingestedAt: string;
  /** The dense vector's name ('' = a legacy collection's unnamed vector). */
  dense: string;
  sparse: { name: string; analyzer: SparseAnalyzer } | null;
  /** Each message's source offset, when the consumer records them. */
  offsets: ReadonlyMap<IngestMessage, string>;
}

/** A document's text chunks (one empty, vector-less chunk when it has no text) and its medium. */
interface EncodedDocument {
  chunks: Array<{ text: string; vector: Float32Array | null }>;
  medium: EmbeddedMedium | null;
}

/** Embeds a group's texts (those that have one), then its media; a bad medium fails the group. */
async function encodeGroup(group: Upsert[], context: IndexContext, step: NonNullable<IndexContext['step']>): Promise<EncodedDocument[]> {
  const texts = group.map((u) => documentText(u.document));
  const withText = group.map((_, i) => i).filter((i) => texts[i] !== '');
  const embeddedText = withText.length > 0 ? await step('embed', () => context.encoder.encodeDocuments(withText.map((i) => texts[i]!))) : [];
  const chunks: EncodedDocument['chunks'][] = group.map(() => [{ text: '', vector: null }]);
  withText.forEach((i, k) => (chunks[i] = embeddedText[k] ?? []));
  const media = group.some((u) => u.document.media) ? await step('embed', () => embedMedia(group, context)) : group.map(() => null);
  return group.map((_, i) => ({ chunks: chunks[i] ?? [], medium: media[i] ?? null }));
}

// Runs on the main thread (the sparse analyzer too) while the inference worker embeds the next group.
function toPoints(upserts: Upsert[], encoded: EncodedDocument[], { modelId, ingestedAt, dense, sparse, offsets }: PointShape) {
  return upserts.flatMap((u, i) => {
    const chunks = encoded[i]?.chunks ?? [];
    const medium = encoded[i]?.medium ?? null;
    return chunks.map((chunk, index) => {
      const payload: ChunkPayload = {
        doc_id: u.id,
        chunk: index,
        chunks: chunks.length,
        title: u.document.title ?? '',
        text: chunk.text,
        metadata: u.document.metadata ?? {},
        tenant: u.tenant,
        model: modelId,
        ingested_at: ingestedAt,
        ...(medium ? { media: medium.payload } : {}),
      };
      const offset = offsets.get(u);
      const record = offset === undefined ? payload : { ...payload, source_offset: offset };
      const embedding = chunk.vector ? Array.from(chunk.vector) : null;
      // The medium's vector sits on the document's first point, beside its first text chunk.
      const vector =
        dense === ''
          ? (embedding ?? [])
          : {
              ...(embedding ? { [dense]: embedding } : {}),
              ...(sparse && chunk.text !== '' ? { [sparse.name]: sparse.analyzer.document(chunk.text) } : {}),
              ...(medium && index === 0 ? { [medium.name]: Array.from(medium.vector) } : {}),
            };
      return { id: pointId(u.tenant, u.id, index), vector, payload: record as unknown as Record<string, unknown> };
    });
  });
}

interface EmbeddedMedium {
  name: string;
  vector: Float32Array;
  payload: NonNullable<ChunkPayload['media']>;
}

/** The media vector of each upsert that has a medium, or a MediaDecodeError naming the document. */
async function embedMedia(upserts: Upsert[], context: IndexContext): Promise<Array<EmbeddedMedium | null>> {
  return Promise.all(
    upserts.map(async (u) => {
      const media = u.document.media;
      if (!media) return null;
      const modality: Modality = mediaModality(media);
      const target = context.layout.media?.[modality];
      if (!target) throw new MediaDecodeError(`document ${u.id}: collection ${context.collection} has no ${modality} vector (rebuild it with \`searchbus reindex\`)`);
      if (!context.media) throw new MediaDecodeError(`document ${u.id}: this consumer embeds no media`);
      try {
        const bytes = await context.media.read(media);
        const vector = await context.media.embed(modality, target.model, bytes);
        // Photos keep a small preview for result lists (the bytes themselves are never stored).
        const thumbnail = modality === 'image' ? await imageThumbnail(bytes) : null;
        const payload = {
          type: media.type,
          modality,
          model: target.model.id,
          ...(media.uri !== undefined ? { uri: media.uri } : {}),
          ...(thumbnail !== null ? { thumbnail } : {}),
        };
        return { name: target.name, vector, payload };
      } catch (error) {
        if (error instanceof MediaDecodeError) {
          const Failure = error.constructor as new (message: string, options: { cause: unknown }) => MediaDecodeError;
          throw new Failure(`document ${u.tenant}/${u.id}: ${error.message}`, { cause: error });
        }
        throw error;
      }
    }),
  );
}

/** Upserts whose document already has a point written from a later offset (by the other group). */
async function olderThanStored(latest: IngestMessage[], offsets: Map<IngestMessage, string>, context: IndexContext): Promise<Set<IngestMessage>> {
  const upserts = latest.filter((m): m is Upsert => m.kind === 'upsert' && offsets.has(m));
  if (upserts.length === 0) return new Set();
  const ids = upserts.map((u) => pointId(u.tenant, u.id, 0));
  const stored = await context.qdrant.retrieve(context.collection, { ids, with_payload: ['source_offset'], with_vector: false });
  const storedOffset = new Map(stored.map((p) => [String(p.id), (p.payload as { source_offset?: unknown } | null)?.source_offset]));
  return new Set(
    upserts.filter((u, i) => {
      const held = storedOffset.get(ids[i]!);
      return typeof held === 'string' && BigInt(held) > BigInt(offsets.get(u)!);
    }),
  );
}

function documentConditions(tenant: string, ids: string[]): Condition[] {
  return [{ key: 'tenant', match: { value: tenant } }, ids.length === 1 ? { key: 'doc_id', match: { value: ids[0] } } : { key: 'doc_id', match: { any: ids } }];
}

/** One condition per tenant: its tenant and any of its deleted ids. */
function deletedDocuments(deletes: Array<{ tenant: string; id: string }>): Array<{ must: Condition[] }> {
  const byTenant = new Map<string, string[]>();
  for (const d of deletes) byTenant.set(d.tenant, [...(byTenant.get(d.tenant) ?? []), d.id]);
  return [...byTenant].map(([tenant, ids]) => ({ must: documentConditions(tenant, ids) }));
}
