import { SearchbusError } from '../../topology/index.ts';

// Encoder errors are never retriable by retrying the same call: a bad tokenizer file, a bad
// option or a broken model stays broken. The consumer decides what to do (fail fast at start-up).
export class EncoderError extends SearchbusError {
  override readonly name: string = 'EncoderError';
  override readonly retriable: boolean = false;

  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { code: 'encoder-failed', ...options });
  }
}

/** The tokenizer file uses a feature this WordPiece implementation does not reproduce. */
export class TokenizerConfigError extends EncoderError {
  override readonly name = 'TokenizerConfigError';
  override readonly code: string = 'tokenizer-config';
}

/** Contradictory or out-of-range encoder/chunker options. */
export class EncoderConfigError extends EncoderError {
  override readonly name = 'EncoderConfigError';
  override readonly code: string = 'encoder-config';
}

/** The encoder was closed, or its inference worker died. */
export class EncoderClosedError extends EncoderError {
  override readonly name = 'EncoderClosedError';
  override readonly code: string = 'encoder-closed';
}
