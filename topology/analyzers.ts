// The sparse (BM25-style) analyzer registry. A collection's sparse vector is named after its
// analyzer (see `sparseVectorName`), so the collection itself records how its terms were made:
// a query is analysed the same way, and changing any setting here means a new id and a rebuild.

import { SearchbusError } from './errors.ts';

export interface AnalyzerSpec {
  /** Lowercase letters, digits and dashes; part of the sparse vector's name. */
  readonly id: string;
  readonly description: string;
  /** Word segmentation locale for Intl.Segmenter (ICU word boundaries). */
  readonly locale: string;
  /** Stop word list of the npm `stopword` package, by its export name. */
  readonly stopwords: 'eng';
  /** Stemmer of the npm `stemmer` package (Porter). */
  readonly stemmer: 'porter';
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
    stopwords: 'eng',
    stemmer: 'porter',
    minTermChars: 1,
    maxTermChars: 40,
    k1: 1.2,
    b: 0.75,
    averageTerms: 150,
  },
];

const BY_ID: ReadonlyMap<string, AnalyzerSpec> = new Map(SPECS.map((spec) => [spec.id, spec]));

export const DEFAULT_ANALYZER_ID = 'en-porter-v1';

export class UnknownAnalyzerError extends SearchbusError {
  override readonly name = 'UnknownAnalyzerError';
  override readonly retriable = false;
  override readonly code: string = 'unknown-analyzer';

  constructor(readonly analyzerId: string) {
    super(`Unknown sparse analyzer "${analyzerId}". Known analyzers: ${analyzerIds().join(', ')}.`);
  }
}

export function getAnalyzerSpec(id: string): AnalyzerSpec {
  const spec = BY_ID.get(id);
  if (!spec) throw new UnknownAnalyzerError(id);
  return spec;
}

export function findAnalyzerSpec(id: string): AnalyzerSpec | undefined {
  return BY_ID.get(id);
}

export function analyzerIds(): string[] {
  return SPECS.map((spec) => spec.id);
}
