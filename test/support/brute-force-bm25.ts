import type { SparseVector } from '../../consumers/embedding/index.ts';

// BM25 by brute force, as Qdrant scores a sparse vector with the `idf` modifier: the query's terms
// (weight 1) times each document term's stored weight times the term's IDF over the documents,
// ln(1 + (N - n + 0.5) / (n + 0.5)). For benchmarks that rank in-process.

/** The IDF of each index over `documents`. */
export function idfOver(documents: readonly SparseVector[]): (index: number) => number {
  const df = new Map<number, number>();
  for (const d of documents) for (const index of d.indices) df.set(index, (df.get(index) ?? 0) + 1);
  return (index) => {
    const n = df.get(index) ?? 0;
    return Math.log(1 + (documents.length - n + 0.5) / (n + 0.5));
  };
}

/** One document's score for a query (both sorted by index, as SparseAnalyzer makes them). */
export function bm25Score(query: SparseVector, doc: SparseVector, idf: (index: number) => number): number {
  let total = 0;
  let j = 0;
  for (const index of query.indices) {
    while (j < doc.indices.length && doc.indices[j]! < index) j++;
    if (doc.indices[j] === index) total += idf(index) * doc.values[j]!;
  }
  return total;
}
