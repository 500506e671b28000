import type { Schemas } from '@qdrant/js-client-rest';
import {
  DEFAULT_CODE_DENSE_WEIGHT,
  DEFAULT_RRF_K,
  DEFAULT_SPARSE_WEIGHT,
  type CollectionLayout,
  type FusionMethod,
  type SearchMode,
} from '../../topology/index.ts';
import type { SparseVector } from '../embedding/index.ts';
import { HIT_PAYLOAD_FIELDS } from './collapse-hits.ts';
import type { toQdrantFilter } from './qdrant-filter.ts';

/** One Qdrant `query` request (Query API); the consumer sends a batch of them at once. */
export interface ChunkQuery {
  query: Schemas['QueryInterface'];
  using?: string;
  prefetch?: Schemas['Prefetch'][];
  filter: ReturnType<typeof toQdrantFilter>;
  limit: number;
  with_payload: string[];
}

/** What a query was turned into: the embedding (dense, hybrid) and the analysed terms (sparse, hybrid). */
export interface QueryVectors {
  dense: number[] | null;
  sparse: SparseVector | null;
}

/** How a hybrid query fuses its two candidate lists: the `SEARCHBUS_QUERY_FUSION`, `_RRF_K` and `_SPARSE_WEIGHT` settings. */
export interface HybridFusion {
  method: FusionMethod;
  /** RRF: a document at rank r of a list (from 0) gets weight / (k + r) from it. */
  rrfK: number;
  /** RRF: the sparse list's weight, the dense list's being 1. */
  sparseWeight: number;
  /** RRF, a query by code: the dense list's weight, the sparse list's being 1. */
  codeDenseWeight: number;
}

export const DEFAULT_FUSION: HybridFusion = {
  method: 'rrf',
  rrfK: DEFAULT_RRF_K,
  sparseWeight: DEFAULT_SPARSE_WEIGHT,
  codeDenseWeight: DEFAULT_CODE_DENSE_WEIGHT,
};

/** The fusion a configuration asks for. */
export function hybridFusion(query: { fusion: FusionMethod; rrfK: number; sparseWeight: number; codeDenseWeight: number }): HybridFusion {
  return { method: query.fusion, rrfK: query.rrfK, sparseWeight: query.sparseWeight, codeDenseWeight: query.codeDenseWeight };
}

/** Qdrant's fusion stage; weights are sent only when they differ, so servers without weighted RRF still take the default. */
function fusionQuery(fusion: HybridFusion, code: boolean): Schemas['QueryInterface'] {
  if (fusion.method === 'dbsf') return { fusion: 'dbsf' };
  const weights = code ? [fusion.codeDenseWeight, 1] : [1, fusion.sparseWeight];
  return { rrf: { k: fusion.rrfK, ...((weights[0] !== 1 || weights[1] !== 1) && { weights }) } };
}

/** The mode a request runs in: its own, or hybrid where the collection has sparse vectors, else dense. */
export function effectiveMode(requested: SearchMode | undefined, layout: CollectionLayout): SearchMode {
  return requested ?? (layout.sparse ? 'hybrid' : 'dense');
}

/**
 * The Qdrant query for one request. The filter (tenant condition included) is applied inside every
 * prefetch as well as to the fused result, so no candidate list ever holds another tenant's chunk;
 * each prefetch fetches `limit` chunks, like a single-vector search would.
 */
export function chunkQuery(
  mode: SearchMode,
  layout: CollectionLayout,
  vectors: QueryVectors,
  filter: ReturnType<typeof toQdrantFilter>,
  limit: number,
  fusion: HybridFusion,
  /** A query by code, fused with the code weights. */
  code = false,
): ChunkQuery {
  const base = { filter, limit, with_payload: HIT_PAYLOAD_FIELDS };
  const dense = (): { query: number[]; using?: string } => {
    if (!vectors.dense) throw new TypeError(`a ${mode} query needs its embedding`);
    return layout.dense === '' ? { query: vectors.dense } : { query: vectors.dense, using: layout.dense };
  };
  const sparse = (): { query: SparseVector; using: string } => {
    if (!layout.sparse || !vectors.sparse)
      throw new TypeError(`a ${mode} query needs a collection with sparse vectors and the query's terms`);
    return { query: vectors.sparse, using: layout.sparse.name };
  };
  switch (mode) {
    case 'dense':
      return { ...base, ...dense() };
    case 'sparse':
      return { ...base, ...sparse() };
    case 'hybrid':
      return {
        ...base,
        prefetch: [
          { ...dense(), filter, limit },
          { ...sparse(), filter, limit },
        ],
        query: fusionQuery(fusion, code),
      };
  }
}
