// The tokenizer.bin reader on small files written here: every length form of the format, byte
// fallback across a multi-byte character, special ids left out, and a truncated file refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpeechTokenizer } from '../../../../../consumers/embedding/index.ts';
import { UnavailableError } from '../../../../../topology/errors.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

const utf8 = (text: string): number[] => [...Buffer.from(text, 'utf8')];

/** A tokenizer.bin of these entries, each written with the length form its size needs. */
function tokenizerFile(entries: ReadonlyArray<string | number[]>): Uint8Array {
  const bytes: number[] = [];
  for (const entry of entries) {
    const body = typeof entry === 'string' ? utf8(entry) : entry;
    if (body.length < 128) bytes.push(body.length);
    else bytes.push(128 + (body.length % 128), Math.floor(body.length / 128));
    bytes.push(...body);
  }
  return Uint8Array.from(bytes);
}

const LONG = `\u2581${'x'.repeat(300)}`;
// 0 <unk>, 1 <s>, 2 </s>, 3 an empty entry, 4-5 the two UTF-8 bytes of "é" (byte fallback),
// 6 "▁caf", 7 "▁ok", 8 "!", 9 a 301-byte piece (two-byte length), 10 a placeholder.
const ENTRIES = ['<unk>', '<s>', '</s>', [], [0xc3], [0xa9], '\u2581caf', '\u2581ok', '!', LONG, '<<ST_7>>'];

describe('SpeechTokenizer', () => {
  const tokenizer = SpeechTokenizer.parse(tokenizerFile(ENTRIES));

  it('reads one entry per id, whatever the length form', () => {
    assert.equal(tokenizer.size, ENTRIES.length);
    assert.equal(tokenizer.decode([9]), LONG.slice(1));
    assert.equal(tokenizer.decode([7, 8]), 'ok!');
  });

  it('joins byte-fallback tokens into one character and turns ▁ into spaces', () => {
    assert.equal(tokenizer.decode([6, 4, 5, 7]), 'café ok');
  });

  it('leaves out special ids, empty entries and ids past the vocabulary', () => {
    assert.equal(tokenizer.decode([1, 6, 3, 0, 7, 10, 2, 99]), 'caf ok');
    assert.equal(tokenizer.decode([1, 2]), '');
  });

  it('refuses a file that ends inside an entry', () => {
    const whole = tokenizerFile(ENTRIES);
    for (const cut of [whole.length - 1, 1, tokenizerFile(ENTRIES.slice(0, 9)).length + 1]) {
      assert.throws(() => SpeechTokenizer.parse(whole.subarray(0, cut)), errorOf(UnavailableError, 'encoder-failed', /ends inside entry/));
    }
  });
});
