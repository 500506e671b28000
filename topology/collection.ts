import { findAnalyzerSpec, type AnalyzerSpec } from './analyzers.ts';
import type { ModelSpec } from './models.ts';
import { mediaModelFor, MEDIA_MODELS, type MediaModel } from './media-models.ts';
import { MODALITIES, type Modality } from './media.ts';

// What a searchbus collection holds: one point per chunk, with this payload.
export interface ChunkPayload {
  doc_id: string;
  chunk: number;
  /** Number of chunks the document had when this point was written. */
  chunks: number;
  title: string;
  /** The chunk's own text (the window of the document it embeds); '' for a medium without text. */
  text: string;
  /** The document's medium: its MIME type and, when it came by reference, its uri (never inline bytes). */
  media?: { type: string; uri?: string; modality: Modality; model: string };
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

// ---- vector layout -----------------------------------------------------------------------------

/**
 * Vector names of a collection. The dense text embedding is `text` (issue 9 adds `image` and
 * `audio` beside it); the BM25-style sparse vector is named after its analyzer.
 */
export const VECTOR_NAMES = { text: 'text', image: 'image', audio: 'audio' } as const;

const SPARSE_PREFIX = 'text-bm25-';

export function sparseVectorName(analyzer: AnalyzerSpec): string {
  return `${SPARSE_PREFIX}${analyzer.id}`;
}

/**
 * How a collection's points hold their vectors. `dense` is '' for a legacy collection (one
 * unnamed dense vector, built before named vectors), served as it is until a rebuild.
 */
export interface CollectionLayout {
  readonly dense: string;
  readonly sparse: { readonly name: string; readonly analyzer: AnalyzerSpec } | null;
  /**
   * The media vectors (`image`, `audio`) and the registry model each was built with; absent in
   * collections built before media (they are searched by text only until a rebuild).
   */
  readonly media?: Partial<Record<Modality, { readonly name: string; readonly model: MediaModel }>>;
}

export function layoutFor(analyzer: AnalyzerSpec | null): CollectionLayout {
  const media: NonNullable<CollectionLayout['media']> = {};
  for (const modality of MODALITIES) media[modality] = { name: VECTOR_NAMES[modality], model: MEDIA_MODELS[modality] };
  return { dense: VECTOR_NAMES.text, sparse: analyzer ? { name: sparseVectorName(analyzer), analyzer } : null, media };
}

export interface CollectionCreateParams {
  vectors: Record<string, { size: number; distance: 'Cosine' | 'Dot' | 'Euclid' }>;
  sparse_vectors?: Record<string, { modifier: 'idf' }>;
}

/** What a new collection is created with: named dense `text`, and the sparse vector with Qdrant's IDF modifier. */
export function collectionParams(model: ModelSpec, layout: CollectionLayout): CollectionCreateParams {
  const params: CollectionCreateParams = { vectors: { [layout.dense || VECTOR_NAMES.text]: vectorParams(model) } };
  for (const vector of Object.values(layout.media ?? {})) params.vectors[vector.name] = { size: vector.model.dimension, distance: 'Cosine' };
  if (layout.sparse) params.sparse_vectors = { [layout.sparse.name]: { modifier: 'idf' } };
  return params;
}

/** The parts of Qdrant's collection info a layout is read from. */
export interface CollectionVectorsInfo {
  config: { params: { vectors?: unknown; sparse_vectors?: unknown } };
}

/**
 * A collection's layout from its config, or a reason it is not a searchbus layout. A sparse
 * vector whose analyzer this build does not know is ignored (searched dense-only), never guessed.
 */
export function layoutOf(info: CollectionVectorsInfo): CollectionLayout | string {
  const vectors = info.config.params.vectors;
  if (!isRecord(vectors)) return 'it has no dense vectors';
  let dense: string;
  if (typeof vectors.size === 'number') dense = '';
  else if (VECTOR_NAMES.text in vectors) dense = VECTOR_NAMES.text;
  else return `it has no dense vector named "${VECTOR_NAMES.text}" (vectors: ${Object.keys(vectors).join(', ') || 'none'})`;
  const sparseVectors = info.config.params.sparse_vectors;
  let sparse: CollectionLayout['sparse'] = null;
  if (isRecord(sparseVectors)) {
    for (const name of Object.keys(sparseVectors)) {
      if (!name.startsWith(SPARSE_PREFIX)) continue;
      const analyzer = findAnalyzerSpec(name.slice(SPARSE_PREFIX.length));
      if (analyzer) {
        sparse = { name, analyzer };
        break;
      }
    }
  }
  const media: NonNullable<CollectionLayout['media']> = {};
  for (const modality of MODALITIES) {
    const params = vectors[VECTOR_NAMES[modality]];
    const size = isRecord(params) && typeof params.size === 'number' ? params.size : undefined;
    const model = size === undefined ? undefined : mediaModelFor(modality, size);
    if (model) media[modality] = { name: VECTOR_NAMES[modality], model };
  }
  return Object.keys(media).length > 0 ? { dense, sparse, media } : { dense, sparse };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
