import type { Schemas } from '@qdrant/js-client-rest';
import type { CollectionLayout, FusionMethod, SearchMode } from '../../topology/index.ts';
import type { SparseVector } from '../encoders/index.ts';
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

/** The usual constant of reciprocal rank fusion (Cormack et al. 2009); Qdrant's own default is 2. */
export const RRF_K = 60;

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
  fusion: FusionMethod,
): ChunkQuery {
  const base = { filter, limit, with_payload: HIT_PAYLOAD_FIELDS };
  const dense = (): { query: number[]; using?: string } => {
    if (!vectors.dense) throw new TypeError(`a ${mode} query needs its embedding`);
    return layout.dense === '' ? { query: vectors.dense } : { query: vectors.dense, using: layout.dense };
  };
  const sparse = (): { query: SparseVector; using: string } => {
    if (!layout.sparse || !vectors.sparse) throw new TypeError(`a ${mode} query needs a collection with sparse vectors and the query's terms`);
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
        query: fusion === 'rrf' ? { rrf: { k: RRF_K } } : { fusion: 'dbsf' },
      };
  }
}
