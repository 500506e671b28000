import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';
import { WordPieceTokenizer } from '../../../../../consumers/embedding/text/wordpiece-tokenizer.ts';

const TOKENIZER_CONFIG = errorOf(ContractError, 'tokenizer-config');

// A tiny uncased BERT vocabulary; ids are line numbers. The expected tokens below were worked out
// by hand from the BERT rules and checked against HF `tokenizers` built with the same vocabulary.
const VOCAB = [
  '[PAD]', //  0
  '[UNK]', //  1
  '[CLS]', //  2
  '[SEP]', //  3
  '[MASK]', //  4
  'un', //  5
  '##aff', //  6
  '##able', //  7
  'jump', //  8
  '##ing', //  9
  '##s', // 10
  '!', // 11
  ',', // 12
  '.', // 13
  'cafe', // 14
  '中', // 15
  'the', // 16
  'a', // 17
  '##a', // 18
  'b', // 19
  'οδοσ', // 20 (lowercase Greek, with a medial sigma at the end)
  'α', // 21
  '$', // 22
  'x', // 23
  ';', // 24
  'fox', // 25
];

const tokenizer = WordPieceTokenizer.fromVocabTxt(`${VOCAB.join('\n')}\n`);

function pieces(text: string): { tokens: string[]; spans: string[] } {
  const { ids, offsets } = tokenizer.tokenize(text);
  return { tokens: ids.map((id) => VOCAB[id]!), spans: offsets.map(([from, to]) => text.slice(from, to)) };
}

describe('WordPieceTokenizer', () => {
  it('splits a word greedily into the longest known pieces', () => {
    assert.deepEqual(pieces('unaffable'), { tokens: ['un', '##aff', '##able'], spans: ['un', 'aff', 'able'] });
    assert.deepEqual(pieces('jumping jumps'), { tokens: ['jump', '##ing', 'jump', '##s'], spans: ['jump', 'ing', 'jump', 's'] });
  });

  it('lowercases, strips accents and maps offsets back to the original characters', () => {
    assert.deepEqual(pieces('CAFÉ'), { tokens: ['cafe'], spans: ['CAFÉ'] });
    // Decomposed input: "e" then a combining acute accent, which is dropped and so, as in HF,
    // falls outside the token's span.
    assert.deepEqual(pieces('Cafe\u0301!'), { tokens: ['cafe', '!'], spans: ['Cafe', '!'] });
    assert.deepEqual(pieces('ά'), { tokens: ['α'], spans: ['ά'] });
  });

  it('lowercases one character at a time, as Rust does (no final sigma)', () => {
    assert.deepEqual(pieces('ΟΔΟΣ').tokens, ['οδοσ']);
  });

  it('splits every punctuation character and ASCII symbol into its own token', () => {
    assert.deepEqual(pieces('the,fox.$x!').tokens, ['the', ',', 'fox', '.', '$', 'x', '!']);
    // U+037E GREEK QUESTION MARK decomposes to ';' under NFD.
    assert.deepEqual(pieces('x\u037ex'), { tokens: ['x', ';', 'x'], spans: ['x', '\u037e', 'x'] });
  });

  it('makes each CJK character a word of its own', () => {
    assert.deepEqual(pieces('中中a'), { tokens: ['中', '中', 'a'], spans: ['中', '中', 'a'] });
  });

  it('turns a word with an unknown remainder into a single [UNK]', () => {
    assert.deepEqual(pieces('foxy the'), { tokens: ['[UNK]', 'the'], spans: ['foxy', 'the'] });
  });

  it('turns a word longer than 100 characters into [UNK], and accepts exactly 100', () => {
    assert.deepEqual(pieces('a'.repeat(101)).tokens, ['[UNK]']);
    assert.deepEqual(pieces('a'.repeat(100)).tokens, ['a', ...Array<string>(99).fill('##a')]);
  });

  it('drops control and zero-width characters and splits on Unicode whitespace', () => {
    assert.deepEqual(pieces('a\u0000b\u200bx\u00a0the\tfox\u000bx').tokens, ['[UNK]', 'the', '[UNK]']);
    assert.deepEqual(pieces('a\u3000b').tokens, ['a', 'b']);
  });

  it('reports UTF-16 offsets around characters outside the BMP', () => {
    const text = 'a 😀 b';
    const { ids, offsets } = tokenizer.tokenize(text);
    assert.deepEqual(ids, [17, 1, 19]);
    assert.deepEqual(offsets, [
      [0, 1],
      [2, 4],
      [5, 6],
    ]);
  });

  it('matches special tokens verbatim, even inside a word, but not in another case', () => {
    assert.deepEqual(pieces('a[SEP]b [sep]').tokens, ['a', '[SEP]', 'b', '[UNK]', '[UNK]', '[UNK]']);
    assert.deepEqual(pieces('[MASK]jumps'), { tokens: ['[MASK]', 'jump', '##s'], spans: ['[MASK]', 'jump', 's'] });
  });

  it('marks continuation pieces so windows can respect word boundaries', () => {
    assert.deepEqual(tokenizer.tokenize('unaffable fox').startsWord, [true, false, false, true]);
  });

  it('wraps in [CLS]/[SEP] and truncates from the right', () => {
    const full = tokenizer.encode('the fox jumps');
    assert.deepEqual(full.ids, [2, 16, 25, 8, 10, 3]);
    assert.equal(full.untruncatedLength, 6);
    const cut = tokenizer.encode('the fox jumps', { maxTokens: 4 });
    assert.deepEqual(cut.ids, [2, 16, 25, 3]);
    assert.deepEqual(cut.offsets, [
      [0, 0],
      [0, 3],
      [4, 7],
      [0, 0],
    ]);
    assert.equal(cut.untruncatedLength, 6);
    assert.deepEqual(tokenizer.encode('').ids, [2, 3]);
  });

  it('encodeIds stops tokenising at the window and gives exactly the ids encode() keeps', () => {
    const texts = [
      'unaffable jumping jumps, the cafe! 中中 a b unaffable.',
      'the[MASK]the [SEP] jumps οδοσ α, unaff un aff able able',
      '  \t unaffable\u200b jumps   ',
      '[CLS][SEP][PAD]',
      '',
    ];
    for (const text of texts) {
      const whole = tokenizer.encode(text).ids.length;
      for (let maxTokens = 2; maxTokens <= whole + 2; maxTokens++) {
        assert.deepEqual(
          tokenizer.encodeIds(text, maxTokens),
          tokenizer.encode(text, { maxTokens }).ids,
          `${JSON.stringify(text)} at ${maxTokens}`,
        );
      }
    }
    assert.throws(() => tokenizer.encodeIds('the', 1), RangeError);
  });

  it('keeps case when built without lowercasing', () => {
    const cased = WordPieceTokenizer.fromVocabTxt(VOCAB.join('\n'), { lowercase: false });
    assert.deepEqual(cased.tokenize('The the').ids, [1, 16]);
  });
});

describe('WordPieceTokenizer.fromTokenizerJson', () => {
  const base = {
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
    },
    added_tokens: [{ id: 3, content: '[SEP]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(VOCAB.map((token, id) => [token, id])),
    },
  };

  it('reads the vocabulary, normaliser flags and special tokens', () => {
    const fromJson = WordPieceTokenizer.fromTokenizerJson(base);
    assert.deepEqual(fromJson.encode('Unaffable[SEP]CAFÉ').ids, [2, 5, 6, 7, 3, 14, 3]);
    assert.equal(fromJson.config.stripAccents, true);
    // Only the added tokens are matched verbatim: [MASK] is not among them here.
    assert.deepEqual(fromJson.tokenize('[MASK]').ids, [1, 1, 1]);
  });

  it('refuses configurations it would not reproduce exactly', () => {
    assert.throws(() => WordPieceTokenizer.fromTokenizerJson({ ...base, normalizer: { type: 'NFKC' } }), TOKENIZER_CONFIG);
    assert.throws(() => WordPieceTokenizer.fromTokenizerJson({ ...base, pre_tokenizer: { type: 'Whitespace' } }), TOKENIZER_CONFIG);
    assert.throws(() => WordPieceTokenizer.fromTokenizerJson({ ...base, model: { ...base.model, type: 'BPE' } }), TOKENIZER_CONFIG);
    assert.throws(
      () => WordPieceTokenizer.fromTokenizerJson({ ...base, added_tokens: [{ ...base.added_tokens[0], lstrip: true }] }),
      TOKENIZER_CONFIG,
    );
    assert.throws(
      () => WordPieceTokenizer.fromTokenizerJson({ ...base, model: { ...base.model, unk_token: '<unk>' } }),
      /unk token <unk> is not in the vocabulary/,
    );
  });
});
