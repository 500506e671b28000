// Moonshine's tokenizer.bin: the vocabulary only, token id = position in the file. Each entry is a
// length then that many bytes: 0 is an empty entry, 1..127 is the length itself, and a first byte
// of 128 or more is the low 7 bits of a two-byte length whose second byte holds the high bits.
// Tokens are SentencePiece pieces in UTF-8 ("▁" marks a space), or single raw bytes (byte
// fallback), so a transcript is the concatenated bytes decoded as UTF-8. Only decoding is needed:
// the decoder is fed its own ids, never text.
import { UnavailableError } from '../../../topology/errors.ts';

const SPACE = '\u2581';
// <unk>, <s>, </s>, the <<ST_n>> placeholders and the like: never part of a transcript.
const SPECIAL = /^<+[^<>\s]+>+$/;

export class SpeechTokenizer {
  private readonly decoder = new TextDecoder('utf-8');

  private constructor(
    private readonly tokens: readonly Uint8Array[],
    private readonly special: ReadonlySet<number>,
  ) {}

  /** A file that ends inside an entry is refused (UnavailableError `encoder-failed`): the model's files are corrupt. */
  static parse(bytes: Uint8Array): SpeechTokenizer {
    const tokens: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length) {
      const first = bytes[at++]!;
      let length = first;
      if (first >= 128) {
        if (at >= bytes.length) throw truncated(tokens.length);
        length = bytes[at++]! * 128 + first - 128;
      }
      if (at + length > bytes.length) throw truncated(tokens.length);
      tokens.push(bytes.subarray(at, at + length));
      at += length;
    }
    const utf8 = new TextDecoder('utf-8');
    const special = new Set<number>();
    tokens.forEach((token, id) => {
      if (token.length > 2 && SPECIAL.test(utf8.decode(token))) special.add(id);
    });
    return new SpeechTokenizer(tokens, special);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The text of a run of ids: special and unknown ids are left out, spaces restored, the ends trimmed. */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    for (const id of ids) {
      const token = this.tokens[id];
      if (token && !this.special.has(id)) parts.push(token);
    }
    const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    return this.decoder.decode(bytes).replaceAll(SPACE, ' ').replace(/\s+/g, ' ').trim();
  }
}

function truncated(entries: number): UnavailableError {
  return new UnavailableError(
    'encoder-failed',
    `the speech tokenizer file ends inside entry ${entries}: it is truncated or not a tokenizer.bin`,
    {
      retriable: false,
    },
  );
}
