import type { OnnxEncoder } from '../embedding/index.ts';
import type { QueryEncoder } from './handle-search-batch.ts';

/**
 * Queries are embedded whole (truncated at the model's window like sentence-transformers'
 * encode()) with the model's query prefix; documents are chunked with the document prefix.
 */
export function queryEncoder(encoder: OnnxEncoder): QueryEncoder {
  return {
    modelId: encoder.spec.id,
    embedQueries: (texts) => encoder.embed(texts, { inputType: 'query' }),
  };
}
