// BERT WordPiece tokenization, reproducing HF `tokenizers` (BertNormalizer + BertPreTokenizer +
// WordPiece + [CLS]/[SEP] template) token for token, because the model was trained on its ids and
// the reference vectors are computed from them. Offsets are UTF-16 indices into the caller's
// string (what String.prototype.slice takes); HF reports Unicode code points instead.
import { readFile } from 'node:fs/promises';
import { ContractError } from '../../../topology/errors.ts';

export interface WordPieceConfig {
  /** Token strings by id. */
  readonly vocab: readonly string[];
  readonly unkToken: string;
  readonly clsToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean;
  readonly lowercase: boolean;
  /** Matched verbatim in the raw text before normalisation, like HF's non-normalized added tokens. */
  readonly specialTokens: readonly string[];
}

export type Span = readonly [start: number, end: number];

/** Tokens of a text without [CLS]/[SEP] and without truncation. */
export interface TokenizedText {
  readonly text: string;
  readonly ids: number[];
  readonly offsets: Span[];
  /** False for `##` continuations, so windows can avoid cutting a word in two. */
  readonly startsWord: boolean[];
}

/** Model input: [CLS] tokens [SEP], truncated to maxTokens. */
export interface EncodedText {
  readonly ids: number[];
  readonly offsets: Span[];
  /** Number of tokens (with [CLS]/[SEP]) before truncation. */
  readonly untruncatedLength: number;
}

const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORD_CACHE_LIMIT = 100_000;

// Character classes, matching the Rust predicates HF uses: `is_other` (category C) for control,
// `char::is_whitespace` (White_Space) and `is_ascii_punctuation || is_punctuation` (category P).
const CONTROL = /^\p{C}$/u;
const WHITESPACE = /^\p{White_Space}$/u;
const PUNCTUATION = /^\p{P}$/u;
const NONSPACING_MARK = /\p{Mn}/gu;

const enum CharClass {
  Plain = 0,
  Whitespace = 1,
  Punctuation = 2,
  Control = 3,
}

const ASCII_CLASS: CharClass[] = Array.from({ length: 128 }, (_, cp) => {
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d || cp === 0x20) return CharClass.Whitespace;
  // \v and \f are White_Space but also control; HF removes them as control before mapping whitespace.
  if (cp < 0x20 || cp === 0x7f) return CharClass.Control;
  if ((cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7e)) {
    return CharClass.Punctuation;
  }
  return CharClass.Plain;
});

function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** A word piece: vocabulary id and its code-point range within the word. */
type Piece = readonly [id: number, start: number, end: number];

export class WordPieceTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  private readonly vocab: Map<string, number>;
  private readonly special: RegExp | undefined;
  private readonly wordCache = new Map<string, readonly Piece[]>();

  constructor(readonly config: WordPieceConfig) {
    this.vocab = new Map();
    config.vocab.forEach((token, id) => {
      // vocab.txt files occasionally repeat a token; the first id wins, as in HF's loader.
      if (!this.vocab.has(token)) this.vocab.set(token, id);
    });
    this.vocabSize = config.vocab.length;
    this.unkId = this.requireId(config.unkToken, 'unk');
    this.clsId = this.requireId(config.clsToken, 'cls');
    this.sepId = this.requireId(config.sepToken, 'sep');
    this.padId = this.requireId(config.padToken, 'pad');
    for (const token of config.specialTokens) this.requireId(token, 'special');
    // Longest first, so that the regex alternation behaves as a leftmost-longest match.
    const specials = [...new Set(config.specialTokens)].sort((a, b) => b.length - a.length);
    this.special = specials.length > 0 ? new RegExp(specials.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  static async fromFile(path: string): Promise<WordPieceTokenizer> {
    const content = await readFile(path, 'utf8');
    if (path.endsWith('.json')) return WordPieceTokenizer.fromTokenizerJson(JSON.parse(content) as unknown);
    if (path.endsWith('.txt')) return WordPieceTokenizer.fromVocabTxt(content);
    throw new ContractError('tokenizer-config', `${path}: expected a tokenizer.json or a vocab.txt`);
  }

  /** BERT defaults (uncased unless told otherwise), as transformers' BertTokenizerFast builds them from vocab.txt. */
  static fromVocabTxt(content: string, options: { lowercase?: boolean; stripAccents?: boolean } = {}): WordPieceTokenizer {
    const vocab = content.split(/\r?\n/);
    if (vocab.at(-1) === '') vocab.pop();
    const lowercase = options.lowercase ?? true;
    return new WordPieceTokenizer({
      vocab,
      unkToken: '[UNK]',
      clsToken: '[CLS]',
      sepToken: '[SEP]',
      padToken: '[PAD]',
      continuingSubwordPrefix: '##',
      maxInputCharsPerWord: 100,
      cleanText: true,
      handleChineseChars: true,
      stripAccents: options.stripAccents ?? lowercase,
      lowercase,
      specialTokens: BERT_SPECIAL_TOKENS.filter((token) => vocab.includes(token)),
    });
  }

  static fromTokenizerJson(json: unknown): WordPieceTokenizer {
    const root = asRecord(json, 'tokenizer.json');
    const model = asRecord(root.model, 'model');
    if (model.type !== 'WordPiece') throw new ContractError('tokenizer-config', `unsupported tokenizer model type ${String(model.type)}`);
    const vocabObject = asRecord(model.vocab, 'model.vocab');
    const vocab: string[] = [];
    for (const [token, id] of Object.entries(vocabObject)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
        throw new ContractError('tokenizer-config', `bad id for token ${token}`);
      vocab[id] = token;
    }
    for (let id = 0; id < vocab.length; id++) {
      if (vocab[id] === undefined) throw new ContractError('tokenizer-config', `vocabulary has no token with id ${id}`);
    }

    let cleanText = false;
    let handleChineseChars = false;
    let lowercase = false;
    let stripAccents = false;
    if (root.normalizer !== null && root.normalizer !== undefined) {
      const normalizer = asRecord(root.normalizer, 'normalizer');
      if (normalizer.type !== 'BertNormalizer') {
        throw new ContractError('tokenizer-config', `unsupported normalizer ${String(normalizer.type)} (only BertNormalizer)`);
      }
      cleanText = normalizer.clean_text === true;
      handleChineseChars = normalizer.handle_chinese_chars === true;
      lowercase = normalizer.lowercase === true;
      // HF: strip_accents null means "follow lowercase".
      stripAccents = typeof normalizer.strip_accents === 'boolean' ? normalizer.strip_accents : lowercase;
    }
    const preTokenizer = asRecord(root.pre_tokenizer, 'pre_tokenizer');
    if (preTokenizer.type !== 'BertPreTokenizer') {
      throw new ContractError('tokenizer-config', `unsupported pre_tokenizer ${String(preTokenizer.type)} (only BertPreTokenizer)`);
    }
    const { clsToken, sepToken } = readPostProcessor(root.post_processor);

    const specialTokens: string[] = [];
    const addedTokens = Array.isArray(root.added_tokens) ? (root.added_tokens as unknown[]) : [];
    for (const raw of addedTokens) {
      const added = asRecord(raw, 'added_tokens[]');
      const content = String(added.content);
      if (added.normalized === true || added.lstrip === true || added.rstrip === true || added.single_word === true) {
        throw new ContractError(
          'tokenizer-config',
          `added token ${content} uses normalized/lstrip/rstrip/single_word matching, which is not implemented`,
        );
      }
      if (vocab[Number(added.id)] !== content) {
        throw new ContractError(
          'tokenizer-config',
          `added token ${content} has id ${String(added.id)}, which the vocabulary gives to another token`,
        );
      }
      specialTokens.push(content);
    }
    const padding = root.padding === null || root.padding === undefined ? undefined : asRecord(root.padding, 'padding');

    return new WordPieceTokenizer({
      vocab,
      unkToken: typeof model.unk_token === 'string' ? model.unk_token : '[UNK]',
      clsToken,
      sepToken,
      padToken: typeof padding?.pad_token === 'string' ? padding.pad_token : '[PAD]',
      continuingSubwordPrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##',
      maxInputCharsPerWord: typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100,
      cleanText,
      handleChineseChars,
      stripAccents,
      lowercase,
      specialTokens,
    });
  }

  tokenize(text: string): TokenizedText {
    return this.tokenizeUpTo(text, Number.POSITIVE_INFINITY);
  }

  /**
   * encode(text, { maxTokens }).ids without tokenising past the window: a 1,500-word document
   * embedded truncated costs its first 254 tokens, not all of them. Tokens are produced left to
   * right and word by word, so the ids are the same prefix encode() keeps.
   */
  encodeIds(text: string, maxTokens: number): number[] {
    if (maxTokens < 2) throw new RangeError(`maxTokens must leave room for [CLS] and [SEP], got ${maxTokens}`);
    const { ids } = this.tokenizeUpTo(text, maxTokens - 2);
    if (ids.length > maxTokens - 2) ids.length = maxTokens - 2;
    return [this.clsId, ...ids, this.sepId];
  }

  /** Tokens of `text`, stopping at the first word boundary at or after `limit` tokens. */
  private tokenizeUpTo(text: string, limit: number): TokenizedText {
    const out: TokenizedText = { text, ids: [], offsets: [], startsWord: [] };
    let segmentStart = 0;
    if (this.special) {
      this.special.lastIndex = 0;
      for (let match = this.special.exec(text); match && out.ids.length < limit; match = this.special.exec(text)) {
        this.tokenizeSegment(text, segmentStart, match.index, out, limit);
        if (out.ids.length >= limit) return out;
        out.ids.push(this.vocab.get(match[0])!);
        out.offsets.push([match.index, match.index + match[0].length]);
        out.startsWord.push(true);
        segmentStart = match.index + match[0].length;
      }
    }
    if (out.ids.length < limit) this.tokenizeSegment(text, segmentStart, text.length, out, limit);
    return out;
  }

  /** [CLS] + tokens + [SEP], truncated from the right like HF's `enable_truncation(max_length)`. */
  encode(text: string, options: { maxTokens?: number } = {}): EncodedText {
    const tokens = this.tokenize(text);
    const maxTokens = options.maxTokens ?? Number.POSITIVE_INFINITY;
    if (maxTokens < 2) throw new RangeError(`maxTokens must leave room for [CLS] and [SEP], got ${maxTokens}`);
    const keep = Math.min(tokens.ids.length, maxTokens - 2);
    return {
      ids: [this.clsId, ...tokens.ids.slice(0, keep), this.sepId],
      offsets: [[0, 0], ...tokens.offsets.slice(0, keep), [0, 0]],
      untruncatedLength: tokens.ids.length + 2,
    };
  }

  private tokenizeSegment(text: string, from: number, to: number, out: TokenizedText, limit: number): void {
    const { cleanText, handleChineseChars, stripAccents, lowercase } = this.config;
    // The current word, one entry per normalised code point, each mapped back to its source span.
    let chars: string[] = [];
    let starts: number[] = [];
    let ends: number[] = [];
    const flush = (): void => {
      if (chars.length === 0) return;
      this.emitWord(chars, starts, ends, out);
      chars = [];
      starts = [];
      ends = [];
    };

    // Tokens are only emitted when a word ends (its buffer then is empty), so stopping here never
    // cuts a word: the ids so far are a prefix of the whole text's.
    for (let i = from; i < to && out.ids.length < limit;) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const start = i;
      i += width;

      if (cp < 0x80) {
        const cls = ASCII_CLASS[cp]!;
        if (cls === CharClass.Control) {
          if (cleanText) continue;
          // Without clean_text, only the pre-tokenizer's White_Space test applies to them.
          if (cp === 0x0b || cp === 0x0c) {
            flush();
            continue;
          }
        }
        if (cls === CharClass.Whitespace) {
          flush();
          continue;
        }
        if (cls === CharClass.Punctuation) {
          flush();
          this.emitWord([String.fromCharCode(cp)], [start], [i], out);
          continue;
        }
        const lower = lowercase && cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp;
        chars.push(String.fromCharCode(lower));
        starts.push(start);
        ends.push(i);
        continue;
      }

      let ch = String.fromCodePoint(cp);
      if (cleanText && (cp === 0xfffd || CONTROL.test(ch))) continue;
      if (WHITESPACE.test(ch)) {
        flush();
        continue;
      }
      const chinese = handleChineseChars && isChineseChar(cp);
      if (chinese) flush();
      if (stripAccents) ch = ch.normalize('NFD').replace(NONSPACING_MARK, '');
      for (const piece of ch) {
        // Per code point: Rust's char::to_lowercase has no context, unlike String.toLowerCase (final sigma).
        for (const c of lowercase ? piece.toLowerCase() : piece) {
          const code = c.codePointAt(0)!;
          const cls =
            code < 0x80
              ? ASCII_CLASS[code]!
              : WHITESPACE.test(c)
                ? CharClass.Whitespace
                : PUNCTUATION.test(c)
                  ? CharClass.Punctuation
                  : CharClass.Plain;
          if (cls === CharClass.Whitespace) {
            flush();
          } else if (cls === CharClass.Punctuation) {
            flush();
            this.emitWord([c], [start], [i], out);
          } else {
            chars.push(c);
            starts.push(start);
            ends.push(i);
          }
        }
      }
      if (chinese) flush();
    }
    flush();
  }

  private emitWord(chars: string[], starts: number[], ends: number[], out: TokenizedText): void {
    const pieces = this.wordPieces(chars);
    for (let p = 0; p < pieces.length; p++) {
      const [id, from, to] = pieces[p]!;
      out.ids.push(id);
      out.offsets.push([starts[from]!, ends[to - 1]!]);
      out.startsWord.push(p === 0);
    }
  }

  /** Greedy longest-match-first; a word with an unmatched remainder becomes a single [UNK]. */
  private wordPieces(chars: string[]): readonly Piece[] {
    const word = chars.join('');
    const cached = this.wordCache.get(word);
    if (cached) return cached;
    const whole: readonly Piece[] = [[this.unkId, 0, chars.length]];
    let pieces: Piece[] | undefined = [];
    if (chars.length > this.config.maxInputCharsPerWord) {
      pieces = undefined;
    } else {
      const bounds = [0];
      for (const c of chars) bounds.push(bounds.at(-1)! + c.length);
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: number | undefined;
        while (start < end) {
          const sub = word.slice(bounds[start], bounds[end]);
          found = this.vocab.get(start > 0 ? this.config.continuingSubwordPrefix + sub : sub);
          if (found !== undefined) break;
          end--;
        }
        if (found === undefined) {
          pieces = undefined;
          break;
        }
        pieces.push([found, start, end]);
        start = end;
      }
    }
    const result = pieces ?? whole;
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, result);
    return result;
  }

  private requireId(token: string, role: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new ContractError('tokenizer-config', `the ${role} token ${token} is not in the vocabulary`);
    return id;
  }
}

function readPostProcessor(raw: unknown): { clsToken: string; sepToken: string } {
  const processor = asRecord(raw, 'post_processor');
  if (processor.type === 'BertProcessing') {
    const cls = processor.cls as unknown[];
    const sep = processor.sep as unknown[];
    return { clsToken: String(cls[0]), sepToken: String(sep[0]) };
  }
  if (processor.type === 'TemplateProcessing') {
    // Only the [CLS] A [SEP] shape is reproduced; anything else would silently change the ids.
    const single = processor.single as Record<string, Record<string, unknown>>[];
    const [first, middle, last] = single;
    if (single.length === 3 && first?.SpecialToken && middle?.Sequence && last?.SpecialToken) {
      return { clsToken: String(first.SpecialToken.id), sepToken: String(last.SpecialToken.id) };
    }
  }
  throw new ContractError('tokenizer-config', `unsupported post_processor ${JSON.stringify(raw).slice(0, 200)}`);
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ContractError('tokenizer-config', `tokenizer: ${what} is missing or not an object`);
  }
  return value as Record<string, unknown>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
