/** A message that does not follow its contract. Never retriable: the same bytes fail the same way. */
export class SchemaError extends Error {
  override readonly name: string = 'SchemaError';
  readonly retriable = false;
  constructor(
    readonly code: SchemaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type SchemaErrorCode =
  | 'invalid-json'
  | 'not-an-object'
  | 'missing-schema-version'
  | 'unsupported-schema-version'
  | 'missing-id'
  | 'invalid-id'
  | 'missing-key'
  | 'invalid-key'
  | 'key-mismatch'
  | 'empty-text'
  | 'oversized'
  | 'invalid-field';

/** A setting is missing, malformed or contradicts another; thrown at start-up, naming the setting. */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  readonly retriable = false;
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
  }
}
