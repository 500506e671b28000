// The sparse (BM25-style) analyzer registry. A collection's sparse vector is named after its
// analyzer (see `sparseVectorName`), so the collection itself records how its terms were made:
// a query is analysed the same way, and changing any setting here means a new id and a rebuild.

import { ContractError } from './errors.ts';

export const STOPWORD_LISTS = ['stopword/eng', 'snowball/english'] as const;
export type StopwordListId = (typeof STOPWORD_LISTS)[number];

export interface AnalyzerSpec {
  /** Lowercase letters, digits and dashes; part of the sparse vector's name. */
  readonly id: string;
  readonly description: string;
  /** Word segmentation locale for Intl.Segmenter (ICU word boundaries). */
  readonly locale: string;
  /**
   * Stop word lists, all applied: `stopword/eng` is the `eng` list of the npm `stopword` package
   * (108 words, no "does", "why", "not"); `snowball/english` is the Snowball English list that goes
   * with the Porter stemmer, as the npm `@orama/stopwords` package ships it (question words,
   * auxiliaries, negations and their contractions, but not "a").
   */
  readonly stopwords: readonly StopwordListId[];
  /** Stemmer of the npm `stemmer` package (Porter). */
  readonly stemmer: 'porter';
  /** Read a typographic apostrophe (U+2019) as an ASCII one, so "doesn’t" meets the list's "doesn't". */
  readonly foldApostrophes: boolean;
  /** Terms shorter than this (after lowercasing, before stemming) are dropped. */
  readonly minTermChars: number;
  /** Terms longer than this are dropped (base64 blobs, hashes). */
  readonly maxTermChars: number;
  /** BM25 saturation k1 and length normalisation b, applied to document term frequencies. */
  readonly k1: number;
  readonly b: number;
  /** Expected terms per chunk for BM25's length normalisation; Qdrant supplies the IDF. */
  readonly averageTerms: number;
}

const SPECS: readonly AnalyzerSpec[] = [
  {
    id: 'en-porter-v1',
    description: 'English: ICU word segmentation, lowercase, stopword "eng" list, Porter stemmer; BM25 k1=1.2 b=0.75',
    locale: 'en',
    stopwords: ['stopword/eng'],
    stemmer: 'porter',
    foldApostrophes: false,
    minTermChars: 1,
    maxTermChars: 40,
    k1: 1.2,
    b: 0.75,
    averageTerms: 150,
  },
  {
    // v1's list kept question words ("does", "why") and "not": on a small corpus such a word is
    // rare, so its IDF made a document that merely shared it the sparse top hit of a question.
    id: 'en-porter-v2',
    description: 'English: ICU word segmentation, lowercase, Snowball English stop words, Porter stemmer; BM25 k1=1.2 b=0.75',
    locale: 'en',
    stopwords: ['snowball/english'],
    stemmer: 'porter',
    foldApostrophes: true,
    minTermChars: 1,
    maxTermChars: 40,
    k1: 1.2,
    b: 0.75,
    averageTerms: 150,
  },
];

const BY_ID: ReadonlyMap<string, AnalyzerSpec> = new Map(SPECS.map((spec) => [spec.id, spec]));

export const DEFAULT_ANALYZER_ID = 'en-porter-v2';

export function getAnalyzerSpec(id: string): AnalyzerSpec {
  const spec = BY_ID.get(id);
  if (!spec) throw new ContractError('unknown-analyzer', `Unknown sparse analyzer "${id}". Known analyzers: ${analyzerIds().join(', ')}.`);
  return spec;
}

export function findAnalyzerSpec(id: string): AnalyzerSpec | undefined {
  return BY_ID.get(id);
}

export function analyzerIds(): string[] {
  return SPECS.map((spec) => spec.id);
}

/**
 * How a code chunk's sparse terms are made (consumers/embedding/code/code-terms.ts): identifiers
 * split at camelCase, snake_case and digits, lowercased and stemmed like words; comments and string
 * text through the collection's word analyzer; keywords and punctuation dropped; plus structure
 * terms from the syntax tree (parent>child node types, each node's shape of child types), which
 * survive renaming. Code terms share the collection's sparse vector and BM25 weighting, so words
 * find code too; changing this means a new id and a rebuild, like a word analyzer.
 */
export const CODE_ANALYZER_ID = 'code-v1';
