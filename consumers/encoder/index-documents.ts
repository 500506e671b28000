import type { QdrantClient } from '@qdrant/js-client-rest';
import { sparseAnalyzer, type DocumentEncoder } from '../encoders/index.ts';
import { documentKey, pointId, type ChunkPayload, type CollectionLayout, type IngestMessage } from '../../topology/index.ts';

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
}

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
 * tenant as well as the id, so it never reaches another tenant's document of the same id.
 */
export async function indexDocuments(messages: IngestMessage[], context: IndexContext): Promise<IndexResult> {
  const latest = latestPerDocument(messages);
  const upserts = latest.filter((m): m is Upsert => m.kind === 'upsert');
  const deletes = latest.filter((m) => m.kind === 'delete');

  const ingestedAt = (context.now?.() ?? new Date()).toISOString();
  const encoded = upserts.length > 0 ? await context.encoder.encodeDocuments(upserts.map((u) => documentText(u.document))) : [];
  const sparse = context.layout.sparse ? { name: context.layout.sparse.name, analyzer: sparseAnalyzer(context.layout.sparse.analyzer) } : null;
  const dense = context.layout.dense;
  const points = upserts.flatMap((u, i) => {
    const chunks = encoded[i] ?? [];
    return chunks.map((chunk, index) => {
      const payload: ChunkPayload = {
        doc_id: u.id,
        chunk: index,
        chunks: chunks.length,
        title: u.document.title ?? '',
        text: chunk.text,
        metadata: u.document.metadata ?? {},
        tenant: u.tenant,
        model: context.encoder.modelId,
        ingested_at: ingestedAt,
      };
      const embedding = Array.from(chunk.vector);
      const vector =
        dense === '' ? embedding : { [dense]: embedding, ...(sparse ? { [sparse.name]: sparse.analyzer.document(chunk.text) } : {}) };
      return { id: pointId(u.tenant, u.id, index), vector, payload: payload as unknown as Record<string, unknown> };
    });
  });
  if (points.length > 0) await context.qdrant.upsert(context.collection, { wait: true, points });

  const staleChunks = upserts.map((u, i) => ({ must: [...documentConditions(u.tenant, [u.id]), { key: 'chunk', range: { gte: encoded[i]?.length ?? 0 } }] }));
  const should = [...deletedDocuments(deletes), ...staleChunks];
  if (should.length > 0) await context.qdrant.delete(context.collection, { wait: true, filter: { should } });

  return { upserted: upserts.length, deleted: deletes.length, points: points.length };
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
