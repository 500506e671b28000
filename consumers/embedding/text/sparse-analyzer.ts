// BM25-style sparse vectors. Documents get saturated, length-normalised term frequencies; queries
// get 1 per distinct term; Qdrant's `idf` modifier on the collection's sparse vector supplies the
// IDF from the live corpus, so scores stay right as documents come and go without re-encoding.
// Word boundaries come from ICU (Intl.Segmenter), stop words from the `stopword` package, stems
// from the `stemmer` package (Porter): the settings are the analyzer's registry entry.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { stopwords as snowballEnglish } from '@orama/stopwords/english';
import { stemmer } from 'stemmer';
import type { AnalyzerSpec, StopwordListId } from '../../../topology/index.ts';

export interface SparseVector {
  indices: number[];
  values: number[];
}

// `stopword` ships CommonJS without type declarations.
const stopwordLists = createRequire(import.meta.url)('stopword') as Record<string, readonly string[] | undefined>;

function stopwordList(id: StopwordListId): readonly string[] {
  switch (id) {
    case 'stopword/eng': {
      const list = stopwordLists.eng;
      if (!list) throw new TypeError('the stopword package has no list "eng"');
      return list;
    }
    case 'snowball/english':
      return snowballEnglish;
  }
}

/** Bounds the memo of term -> index; cleared when full (the corpus vocabulary rarely reaches it). */
const MAX_MEMO_TERMS = 500_000;

export class SparseAnalyzer {
  private readonly segmenter: Intl.Segmenter;
  private readonly stopwords: ReadonlySet<string>;
  private readonly termIndex = new Map<string, number>();

  constructor(readonly spec: AnalyzerSpec) {
    this.segmenter = new Intl.Segmenter(spec.locale, { granularity: 'word' });
    this.stopwords = new Set(spec.stopwords.flatMap((id) => stopwordList(id)));
  }

  /** Text -> stemmed terms in order (stop words, too short and too long words dropped). */
  terms(text: string): string[] {
    const terms: string[] = [];
    const lower = text.toLowerCase();
    for (const segment of this.segmenter.segment(this.spec.foldApostrophes ? lower.replaceAll('\u2019', "'") : lower)) {
      if (!segment.isWordLike) continue;
      const word = segment.segment;
      if (word.length < this.spec.minTermChars || word.length > this.spec.maxTermChars || this.stopwords.has(word)) continue;
      terms.push(stemmer(word));
    }
    return terms;
  }

  /** A document chunk's sparse vector: BM25's term-frequency part, k1 and b from the spec. */
  document(text: string): SparseVector {
    return this.documentOf(this.terms(text));
  }

  /** Terms made elsewhere (a code chunk's, consumers/embedding/code) weighted as a document's. */
  documentOf(terms: readonly string[]): SparseVector {
    const counts = countTerms(terms);
    const { k1, b, averageTerms } = this.spec;
    const norm = k1 * (1 - b + (b * terms.length) / averageTerms);
    return this.vector(counts, (tf) => (tf * (k1 + 1)) / (tf + norm));
  }

  /** A query's sparse vector: each distinct term once; Qdrant weighs it by its IDF. */
  query(text: string): SparseVector {
    return this.queryOf(this.terms(text));
  }

  /** Terms made elsewhere (a code query's) weighted as a query's. */
  queryOf(terms: readonly string[]): SparseVector {
    return this.vector(countTerms(terms), () => 1);
  }

  /** Term -> sparse index: the first 32 bits of its SHA-1 (collisions in 2^32 are negligible for a vocabulary). */
  index(term: string): number {
    let index = this.termIndex.get(term);
    if (index === undefined) {
      index = createHash('sha1').update(term, 'utf8').digest().readUInt32BE(0);
      if (this.termIndex.size >= MAX_MEMO_TERMS) this.termIndex.clear();
      this.termIndex.set(term, index);
    }
    return index;
  }

  private vector(counts: Map<string, number>, weight: (tf: number) => number): SparseVector {
    // Two terms hashing to one index add up, as the same term would.
    const byIndex = new Map<number, number>();
    for (const [term, tf] of counts) {
      const index = this.index(term);
      byIndex.set(index, (byIndex.get(index) ?? 0) + weight(tf));
    }
    const indices = [...byIndex.keys()].sort((x, y) => x - y);
    return { indices, values: indices.map((i) => byIndex.get(i)!) };
  }
}

function countTerms(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}

const shared = new Map<string, SparseAnalyzer>();

/** One analyzer per spec in a process (it keeps a memo of term indexes). */
export function sparseAnalyzer(spec: AnalyzerSpec): SparseAnalyzer {
  let analyzer = shared.get(spec.id);
  if (!analyzer) {
    analyzer = new SparseAnalyzer(spec);
    shared.set(spec.id, analyzer);
  }
  return analyzer;
}
