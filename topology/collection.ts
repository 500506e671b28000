import type { ModelSpec } from './models.ts';

// What a searchbus collection holds: one point per chunk, with this payload.
export interface ChunkPayload {
  doc_id: string;
  chunk: number;
  /** Number of chunks the document had when this point was written. */
  chunks: number;
  title: string;
  /** The chunk's own text (the window of the document it embeds). */
  text: string;
  metadata: Record<string, unknown>;
  tenant: string;
  model: string;
  ingested_at: string;
}

export type PayloadIndexSchema =
  | 'keyword'
  | 'integer'
  | 'float'
  | 'bool'
  | 'datetime'
  | { type: 'keyword'; is_tenant: true };

/** Indexes every collection gets: lookups by document (deletes), per-tenant filtering, chunk ranges. */
export const PAYLOAD_INDEXES: ReadonlyArray<{ field: string; schema: PayloadIndexSchema }> = [
  { field: 'doc_id', schema: 'keyword' },
  { field: 'tenant', schema: { type: 'keyword', is_tenant: true } },
  { field: 'chunk', schema: 'integer' },
];

export function vectorParams(model: ModelSpec): { size: number; distance: 'Cosine' | 'Dot' | 'Euclid' } {
  return { size: model.dimension, distance: model.distance };
}
