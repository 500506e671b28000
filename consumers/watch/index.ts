export { WatchMatcher } from './watch-matcher.ts';
export { WatchRegistry } from './watch-registry.ts';
export { matchIndexed, type MatchDependencies } from './match-documents.ts';
export { passesFilter } from './metadata-filter.ts';
export { embedWatch } from './embed-watch.ts';
export { WatchStore } from './watch-store.ts';
