export {
  SearchClient,
  type SearchClientOptions,
  type SearchClientStats,
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
} from './search-client.ts';
export { SearchError, SearchTimeoutError, SearchRequestError, SearchClientClosedError } from './search-errors.ts';
export { parseFilterArgs } from './filter-args.ts';
