import { SearchbusError } from '../../topology/index.ts';

/** The command line itself is wrong; the CLI prints usage and exits 2. */
export class UsageError extends SearchbusError {
  override readonly name: string = 'UsageError';
  override readonly retriable = false;
  override readonly code: string = 'usage';
}
