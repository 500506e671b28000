import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkTokens, type Chunk, type ChunkingOptions } from '../../../../../consumers/embedding/text/chunker.ts';
import { ContractError } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';
import type { Span, TokenizedText } from '../../../../../consumers/embedding/text/wordpiece-tokenizer.ts';

const ENCODER_CONFIG = errorOf(ContractError, 'encoder-config');

const CLS = 101;
const SEP = 102;

/**
 * Words separated by single spaces; a word written "ab+cd+ef" stands for one word of three word
 * pieces (continuations), each piece one token. Token ids count up from 1000.
 */
function tokenized(words: string[]): TokenizedText {
  const ids: number[] = [];
  const offsets: Span[] = [];
  const startsWord: boolean[] = [];
  let text = '';
  for (const word of words) {
    if (text) text += ' ';
    word.split('+').forEach((piece, k) => {
      ids.push(1000 + ids.length);
      offsets.push([text.length, text.length + piece.length]);
      startsWord.push(k === 0);
      text += piece;
    });
  }
  return { text, ids, offsets, startsWord };
}

function words(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `w${i}`);
}

function options(overrides: Partial<ChunkingOptions> = {}): ChunkingOptions {
  return { maxTokens: 12, overlapTokens: 3, clsId: CLS, sepId: SEP, ...overrides };
}

function windows(chunks: Chunk[]): [number, number][] {
  return chunks.map((chunk) => [chunk.tokenStart, chunk.tokenEnd]);
}

describe('chunkTokens', () => {
  it('keeps a text that fits as one chunk covering all of it', () => {
    const tokens = tokenized(words(10));
    const chunks = chunkTokens(tokens, options());
    assert.equal(chunks.length, 1);
    const [chunk] = chunks;
    assert.deepEqual(chunk!.ids, [CLS, ...tokens.ids, SEP]);
    assert.equal(chunk!.index, 0);
    assert.equal(chunk!.charStart, 0);
    assert.equal(chunk!.charEnd, tokens.text.length);
    assert.equal(chunk!.text, tokens.text);
  });

  it('makes one [CLS] [SEP] chunk for an empty text', () => {
    const chunks = chunkTokens(tokenized([]), options());
    assert.deepEqual(
      chunks.map((c) => [c.ids, c.charStart, c.charEnd, c.text]),
      [[[CLS, SEP], 0, 0, '']],
    );
  });

  it('cuts windows of maxTokens - 2 tokens that overlap by overlapTokens', () => {
    // 25 one-token words, windows of 10, stride 7.
    const tokens = tokenized(words(25));
    const chunks = chunkTokens(tokens, options());
    assert.deepEqual(windows(chunks), [
      [0, 10],
      [7, 17],
      [14, 24],
      [21, 25],
    ]);
    assert.deepEqual(
      chunks.map((c) => c.index),
      [0, 1, 2, 3],
    );
    for (const chunk of chunks) {
      assert.ok(chunk.ids.length <= 12);
      assert.equal(chunk.ids[0], CLS);
      assert.equal(chunk.ids.at(-1), SEP);
      assert.deepEqual(chunk.ids.slice(1, -1), tokens.ids.slice(chunk.tokenStart, chunk.tokenEnd));
      assert.equal(chunk.text, tokens.text.slice(chunk.charStart, chunk.charEnd));
      assert.equal(chunk.text, `w${chunk.tokenStart}` + tokens.text.slice(tokens.offsets[chunk.tokenStart]![1], chunk.charEnd));
    }
    assert.equal(chunks.at(-1)!.text.endsWith('w24'), true);
  });

  it('fills the last window exactly when the tokens divide evenly', () => {
    assert.deepEqual(windows(chunkTokens(tokenized(words(17)), options())), [
      [0, 10],
      [7, 17],
    ]);
  });

  it('overlaps nothing when overlapTokens is 0', () => {
    assert.deepEqual(windows(chunkTokens(tokenized(words(20)), options({ overlapTokens: 0 }))), [
      [0, 10],
      [10, 20],
    ]);
  });

  it('reserves room for the prefix and repeats it in every window', () => {
    const chunks = chunkTokens(tokenized(words(12)), options({ prefixIds: [7, 8] }));
    assert.deepEqual(windows(chunks), [
      [0, 8],
      [5, 12],
    ]);
    for (const chunk of chunks) assert.deepEqual(chunk.ids.slice(0, 3), [CLS, 7, 8]);
    assert.ok(chunks.every((chunk) => chunk.ids.length <= 12));
  });

  it('moves window edges back to word starts so no chunk begins or ends inside a word', () => {
    // Tokens: w0..w7 (0-7), then one word of three pieces at 8,9,10, then w11..w19.
    const tokens = tokenized([...words(8), 'ab+cd+ef', ...words(20).slice(11)]);
    const chunks = chunkTokens(tokens, options());
    // The first window would end at 10 (inside ab+cd+ef) and stops at 8 instead; the next starts
    // 3 tokens earlier at 5.
    assert.deepEqual(windows(chunks)[0], [0, 8]);
    assert.deepEqual(windows(chunks)[1], [5, 15]);
    for (const chunk of chunks) {
      assert.equal(tokens.startsWord[chunk.tokenStart], true);
      assert.ok(chunk.tokenEnd === tokens.ids.length || tokens.startsWord[chunk.tokenEnd] === true);
    }
    assert.equal(chunks[1]!.text.includes('abcdef'), true);
  });

  it('cuts raw token windows when word alignment is off', () => {
    const tokens = tokenized([...words(8), 'ab+cd+ef', ...words(20).slice(11)]);
    assert.deepEqual(windows(chunkTokens(tokens, options({ alignToWords: false })))[0], [0, 10]);
  });

  it('still makes progress through a single word longer than a window', () => {
    const long = Array.from({ length: 25 }, (_, i) => `p${i}`).join('+');
    const tokens = tokenized(['x', long, 'y']);
    const chunks = chunkTokens(tokens, options());
    assert.equal(chunks.at(-1)!.tokenEnd, tokens.ids.length);
    for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i]!.tokenStart > chunks[i - 1]!.tokenStart);
    assert.ok(chunks.every((chunk) => chunk.tokenEnd - chunk.tokenStart <= 10 && chunk.tokenEnd > chunk.tokenStart));
  });

  it('covers every token of a long text', () => {
    const tokens = tokenized(words(1000));
    const chunks = chunkTokens(tokens, { maxTokens: 256, overlapTokens: 32, clsId: CLS, sepId: SEP });
    const covered = new Set<number>();
    for (const chunk of chunks) for (let t = chunk.tokenStart; t < chunk.tokenEnd; t++) covered.add(t);
    assert.equal(covered.size, 1000);
    for (let i = 1; i < chunks.length; i++) assert.equal(chunks[i - 1]!.tokenEnd - chunks[i]!.tokenStart, 32);
  });

  it('rejects an overlap that would not advance and a maxTokens with no room for text', () => {
    const tokens = tokenized(words(5));
    assert.throws(() => chunkTokens(tokens, options({ overlapTokens: 10 })), ENCODER_CONFIG);
    assert.throws(() => chunkTokens(tokens, options({ overlapTokens: -1 })), ENCODER_CONFIG);
    assert.throws(() => chunkTokens(tokens, options({ maxTokens: 2 })), ENCODER_CONFIG);
    assert.throws(() => chunkTokens(tokens, options({ maxTokens: 4, prefixIds: [1, 2] })), ENCODER_CONFIG);
  });
});
