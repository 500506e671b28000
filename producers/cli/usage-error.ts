/** The command line itself is wrong; the CLI prints usage and exits 2. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
  readonly retriable = false;
}
