import { SearchbusError } from '../../../topology/index.ts';

/** The rebuild was cancelled; the partial collection and its consumer group are removed. */
export class RebuildCancelledError extends SearchbusError {
  override readonly name: string = 'RebuildCancelledError';
  override readonly retriable = false;
  override readonly code: string = 'rebuild-cancelled';
}

/** The request cannot succeed as asked (unknown model, incomplete history). */
export class RebuildRefusedError extends SearchbusError {
  override readonly name: string = 'RebuildRefusedError';
  override readonly retriable = false;
  override readonly code: string = 'rebuild-refused';
}
