// Splits a tokenized text into overlapping windows that each fit the model, so that the end of a
// long document is embedded too instead of being truncated away. Each chunk carries the span of
// the original text it covers, so a search hit can show the passage that matched.
import { ContractError } from '../../../topology/errors.ts';
import type { TokenizedText } from './wordpiece-tokenizer.ts';

export interface ChunkingOptions {
  /** Model input length including [CLS] and [SEP] (and the prefix, if any). */
  readonly maxTokens: number;
  /** Tokens shared by consecutive windows. */
  readonly overlapTokens: number;
  readonly clsId: number;
  readonly sepId: number;
  /** Tokens of an instruction prefix (e5's "passage: ") repeated at the start of every window. */
  readonly prefixIds?: readonly number[];
  /**
   * Moves window edges back to the start of a word when that keeps the window non-empty, so that a
   * chunk's text does not begin or end in the middle of a word.
   */
  readonly alignToWords?: boolean;
}

export interface Chunk {
  readonly index: number;
  /** Model input: [CLS] prefix window [SEP]. */
  readonly ids: number[];
  /** Token range [tokenStart, tokenEnd) in the tokenized text (without prefix and specials). */
  readonly tokenStart: number;
  readonly tokenEnd: number;
  /** UTF-16 range of the original text covered: text.slice(charStart, charEnd). */
  readonly charStart: number;
  readonly charEnd: number;
  readonly text: string;
}

export const DEFAULT_OVERLAP_TOKENS = 32;

function windowCapacity(options: ChunkingOptions): number {
  return options.maxTokens - 2 - (options.prefixIds?.length ?? 0);
}

export function validateChunkingOptions(options: ChunkingOptions): void {
  const capacity = windowCapacity(options);
  if (!Number.isInteger(options.maxTokens) || capacity < 1) {
    throw new ContractError(
      'encoder-config',
      `maxTokens ${options.maxTokens} leaves no room for text after [CLS], [SEP] and ${options.prefixIds?.length ?? 0} prefix tokens`,
    );
  }
  if (!Number.isInteger(options.overlapTokens) || options.overlapTokens < 0 || options.overlapTokens >= capacity) {
    throw new ContractError(
      'encoder-config',
      `overlapTokens must be an integer in [0, ${capacity - 1}] for windows of ${capacity} tokens, got ${options.overlapTokens}`,
    );
  }
}

export function chunkTokens(tokens: TokenizedText, options: ChunkingOptions): Chunk[] {
  validateChunkingOptions(options);
  const capacity = windowCapacity(options);
  const align = options.alignToWords ?? true;
  const n = tokens.ids.length;
  const startsWord = (i: number): boolean => i >= n || tokens.startsWord[i] !== false;
  // Back to the nearest word start after `floor`; unchanged if the whole range is one word.
  const toWordStart = (i: number, floor: number): number => {
    if (!align) return i;
    let j = i;
    while (j > floor && !startsWord(j)) j--;
    return j > floor ? j : i;
  };

  const chunks: Chunk[] = [];
  let start = 0;
  for (;;) {
    let end = Math.min(start + capacity, n);
    if (end < n) end = toWordStart(end, start);
    chunks.push(makeChunk(tokens, chunks.length, start, end, options));
    if (end >= n) return chunks;
    let next = toWordStart(end - options.overlapTokens, start);
    // A window shorter than the overlap (a single huge word) must still make progress.
    if (next <= start) next = end;
    start = next;
  }
}

function makeChunk(tokens: TokenizedText, index: number, start: number, end: number, options: ChunkingOptions): Chunk {
  const charStart = end > start ? tokens.offsets[start]![0] : 0;
  const charEnd = end > start ? tokens.offsets[end - 1]![1] : 0;
  return {
    index,
    ids: [options.clsId, ...(options.prefixIds ?? []), ...tokens.ids.slice(start, end), options.sepId],
    tokenStart: start,
    tokenEnd: end,
    charStart,
    charEnd,
    text: tokens.text.slice(charStart, charEnd),
  };
}
