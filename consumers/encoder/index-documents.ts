import type { QdrantClient } from '@qdrant/js-client-rest';
import type { DocumentEncoder } from '../encoders/index.ts';
import { DEFAULT_TENANT, pointId, type ChunkPayload, type IngestMessage } from '../../topology/index.ts';


export interface IndexContext {
  qdrant: QdrantClient;
  /** A collection or an alias; writes through an alias follow it across a swap. */
  collection: string;
  encoder: DocumentEncoder;
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

/**
 * Applies a batch of ingest messages to the collection. Within a batch only the last message per
 * document counts, as after compaction. Upserts are written (wait=true) before stale chunks of
 * shorter new versions and tombstoned documents are deleted, so a crash in between leaves extra
 * chunks that the redelivered batch removes, never a missing document.
 */
export async function indexDocuments(messages: IngestMessage[], context: IndexContext): Promise<IndexResult> {
  const latest = new Map<string, IngestMessage>();
  for (const message of messages) {
    latest.delete(message.id);
    latest.set(message.id, message);
  }
  const upserts = [...latest.values()].filter((m): m is Extract<IngestMessage, { kind: 'upsert' }> => m.kind === 'upsert');
  const deletes = [...latest.values()].filter((m) => m.kind === 'delete').map((m) => m.id);

  const ingestedAt = (context.now?.() ?? new Date()).toISOString();
  const encoded = upserts.length > 0 ? await context.encoder.encodeDocuments(upserts.map((u) => documentText(u.document))) : [];
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
        tenant: u.document.tenant ?? DEFAULT_TENANT,
        model: context.encoder.modelId,
        ingested_at: ingestedAt,
      };
      return { id: pointId(u.id, index), vector: Array.from(chunk.vector), payload: payload as unknown as Record<string, unknown> };
    });
  });
  if (points.length > 0) await context.qdrant.upsert(context.collection, { wait: true, points });

  const staleChunks = upserts.map((u, i) => ({
    must: [
      { key: 'doc_id', match: { value: u.id } },
      { key: 'chunk', range: { gte: encoded[i]?.length ?? 0 } },
    ],
  }));
  const should = [...(deletes.length > 0 ? [{ key: 'doc_id', match: { any: deletes } }] : []), ...staleChunks];
  if (should.length > 0) await context.qdrant.delete(context.collection, { wait: true, filter: { should } });

  return { upserted: upserts.length, deleted: deletes.length, points: points.length };
}
