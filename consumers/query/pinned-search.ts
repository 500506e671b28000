import type { SearchHit, SearchRequestV1 } from '../../topology/index.ts';
import type { ResolvedCollection } from '../runtime/index.ts';
import { handleSearchBatch, type OutgoingReply, type SearchDependencies } from './handle-search-batch.ts';

export type PinnedDependencies = Omit<SearchDependencies, 'resolver' | 'publish'>;

/**
 * Answers requests the way the query consumer does (the same handler: the collection's own model,
 * the tenant and filter, chunk collapsing, retries) but against one named collection instead of
 * the alias, and hands the answers back instead of publishing them: the re-index gate and shadow
 * comparison use it, so nobody is ever replied to twice.
 */
export async function searchPinned(
  requests: readonly SearchRequestV1[],
  collection: ResolvedCollection,
  deps: PinnedDependencies,
  signal: AbortSignal,
): Promise<Map<string, SearchHit[] | Error>> {
  const answers = new Map<string, SearchHit[] | Error>();
  const capture = (replies: OutgoingReply[]): Promise<void> => {
    for (const { reply } of replies)
      answers.set(reply.id, 'hits' in reply ? reply.hits : new Error(`${reply.error.code}: ${reply.error.message}`));
    return Promise.resolve();
  };
  await handleSearchBatch(
    requests.map((request) => ({ kind: 'search' as const, request })),
    { ...deps, resolver: { resolve: () => Promise.resolve(collection), invalidate: () => undefined }, publish: capture },
    signal,
  );
  for (const request of requests) if (!answers.has(request.id)) answers.set(request.id, new Error('expired before it was searched'));
  return answers;
}
