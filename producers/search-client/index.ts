export {
  SearchClient,
  type SearchClientOptions,
  type SearchClientStats,
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
} from './search-client.ts';
export { parseFilterArgs } from './filter-args.ts';
