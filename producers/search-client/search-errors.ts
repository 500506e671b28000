import { SearchbusError, type SearchErrorCode } from '../../topology/index.ts';

export class SearchError extends SearchbusError {
  override readonly name: string = 'SearchError';
  override readonly retriable: boolean = false;
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { code: 'search-failed', ...options });
  }
}

/** No reply before the timeout. The request may still be answered later (and the reply dropped). */
export class SearchTimeoutError extends SearchError {
  override readonly name = 'SearchTimeoutError';
  override readonly retriable = true;
  constructor(
    readonly requestId: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to search ${requestId} within ${timeoutMs} ms`, { code: 'search-timeout' });
  }
}

/** The query consumer answered with an error. `unavailable` may pass; the others will not. */
export class SearchRequestError extends SearchError {
  override readonly name = 'SearchRequestError';
  override readonly retriable: boolean;
  constructor(
    override readonly code: SearchErrorCode,
    message: string,
    readonly requestId: string,
  ) {
    super(`${code}: ${message}`, { code });
    this.retriable = code === 'unavailable';
  }
}

/** The client was closed before the search completed (or was started after close). */
export class SearchClientClosedError extends SearchError {
  override readonly name = 'SearchClientClosedError';
  override readonly code: string = 'client-closed';
}
