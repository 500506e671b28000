// Encoder errors are never retriable by retrying the same call: a bad tokenizer file, a bad
// option or a broken model stays broken. The consumer decides what to do (fail fast at start-up).
export class EncoderError extends Error {
  override readonly name: string = 'EncoderError';
  readonly retriable: boolean = false;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** The tokenizer file uses a feature this WordPiece implementation does not reproduce. */
export class TokenizerConfigError extends EncoderError {
  override readonly name = 'TokenizerConfigError';
}

/** Contradictory or out-of-range encoder/chunker options. */
export class EncoderConfigError extends EncoderError {
  override readonly name = 'EncoderConfigError';
}

/** The encoder was disposed, or its inference worker died. */
export class EncoderClosedError extends EncoderError {
  override readonly name = 'EncoderClosedError';
}
