import { setTimeout as delay } from 'node:timers/promises';
import {
  ContractError,
  hasErrorCode,
  isMediaContentError,
  isSearchContractError,
  isTextualQuery,
  SEARCH_SCHEMA_VERSION,
  UnavailableError,
  type SearchErrorCode,
  type SearchMode,
  type SearchReplyV1,
  type SearchRequestV1,
} from '../../topology/index.ts';
import { codeTerms, sparseAnalyzer, type MediaEncoder } from '../embedding/index.ts';
import { isRetriable } from '../runtime/index.ts';
import { collapseToDocuments, initialLimit, needsMore, nextLimit, type ScoredChunk } from './collapse-hits.ts';
import type { ResolvedCollection } from '../runtime/index.ts';
import { toQdrantFilter } from './qdrant-filter.ts';
import { chunkQuery, DEFAULT_FUSION, effectiveMode, type ChunkQuery, type HybridFusion, type QueryVectors } from './qdrant-query.ts';

export type { ChunkQuery } from './qdrant-query.ts';

/** What the query consumer decodes a request record into. */
export type QueryMessage =
  | { kind: 'search'; request: SearchRequestV1 }
  /** Parsed, but off the contract: answered with an error, not dead-lettered (it is the sender's mistake). */
  | { kind: 'invalid'; id: string; replyTo: string | null; code: SearchErrorCode; message: string };

export interface QueryEncoder {
  readonly modelId: string;
  embedQueries(texts: string[]): Promise<Float32Array[]>;
}

export interface OutgoingReply {
  channel: string;
  reply: SearchReplyV1;
}

export interface SearchDependencies {
  resolver: { resolve(): Promise<ResolvedCollection>; invalidate(): void };
  encoder: (modelId: string) => Promise<QueryEncoder>;
  /** One result list per query, in order (Qdrant's batch query). */
  search: (collection: string, queries: ChunkQuery[]) => Promise<ScoredChunk[][]>;
  publish: (replies: OutgoingReply[]) => Promise<void>;
  now: () => number;
  /** Chunks fetched per wanted document on the first try. */
  oversampling: number;
  /** Most chunks one query may fetch while looking for topK distinct documents. */
  maxChunksPerQuery: number;
  /** Replies are sent this long before the earliest deadline at the latest, instead of retrying on. */
  deadlineMarginMs?: number;
  /** How hybrid queries fuse their dense and sparse candidates (default: RRF, k 60, equal weights). */
  fusion?: HybridFusion;
  /** Embeds queries by example (image, audio); without it they are answered `invalid-media`. */
  media?: Pick<MediaEncoder, 'read' | 'embed'>;
}

export interface BatchReport {
  /** Replies with hits. */
  answered: number;
  /** Error replies, by code. */
  errors: Partial<Record<SearchErrorCode, number>>;
  /** Past their deadline on arrival: skipped, nobody is waiting. */
  expired: number;
  /** Invalid and with no usable reply channel in body or header: nobody can be told. */
  unreplyable: number;
  /** The model the batch was embedded with, when it got that far. */
  model: string | null;
}

/**
 * Answers a batch of search requests: validation errors straight away; the rest embedded with the
 * model of the collection behind the alias in one inference call, searched in one Qdrant batch,
 * collapsed to documents, and published. Dependency outages are retried until shortly before the
 * earliest deadline, then answered with `unavailable`, so a client hears back instead of timing
 * out. Throws only when publishing fails (retriable: the runtime retries the batch) or `signal`
 * aborts.
 */
export async function handleSearchBatch(
  messages: readonly QueryMessage[],
  deps: SearchDependencies,
  signal: AbortSignal,
): Promise<BatchReport> {
  const started = deps.now();
  const report: BatchReport = { answered: 0, errors: {}, expired: 0, unreplyable: 0, model: null };
  const replies: OutgoingReply[] = [];
  const fail = (id: string, channel: string | null, code: SearchErrorCode, message: string): void => {
    if (channel === null) {
      report.unreplyable += 1;
      return;
    }
    report.errors[code] = (report.errors[code] ?? 0) + 1;
    replies.push({ channel, reply: { schemaVersion: SEARCH_SCHEMA_VERSION, id, error: { code, message } } });
  };

  const pending: SearchRequestV1[] = [];
  for (const message of messages) {
    if (message.kind === 'invalid') fail(message.id, message.replyTo, message.code, message.message);
    else if (message.request.deadline <= started) report.expired += 1;
    else pending.push(message.request);
  }

  if (pending.length > 0) {
    const earliest = Math.min(...pending.map((r) => r.deadline)) - (deps.deadlineMarginMs ?? 50);
    try {
      const { model, modes, results } = await retryUntil(() => searchOnce(pending, deps), earliest, deps.now, signal);
      report.model = model;
      const tookMs = Math.round((deps.now() - started) * 10) / 10;
      pending.forEach((request, i) => {
        const result = results[i];
        if (isSearchContractError(result)) {
          fail(request.id, request.replyTo, result.code, result.message);
        } else if (result instanceof Error) {
          fail(request.id, request.replyTo, 'internal', `search failed: ${result.message}`);
        } else {
          report.answered += 1;
          const mode = modes[i]!;
          replies.push({
            channel: request.replyTo,
            reply: { schemaVersion: SEARCH_SCHEMA_VERSION, id: request.id, hits: result ?? [], model, tookMs, mode },
          });
        }
      });
    } catch (error) {
      signal.throwIfAborted();
      const unavailable = isRetriable(error) || hasErrorCode(error, 'collection-unresolved');
      const message = error instanceof Error ? error.message : String(error);
      for (const request of pending) fail(request.id, request.replyTo, unavailable ? 'unavailable' : 'internal', message);
    }
  }
  if (replies.length > 0) await deps.publish(replies);
  return report;
}

type HitsOrError = ReturnType<typeof collapseToDocuments> | Error;

async function searchOnce(
  requests: SearchRequestV1[],
  deps: SearchDependencies,
): Promise<{ model: string; modes: SearchMode[]; results: HitsOrError[] }> {
  const resolved = await deps.resolver.resolve();
  const { layout } = resolved;
  const results: HitsOrError[] = new Array<HitsOrError>(requests.length);
  const modes = requests.map((r) => (isTextualQuery(r.query) ? effectiveMode(r.mode, layout) : (r.mode ?? 'dense')));
  modes.forEach((mode, i) => {
    const query = requests[i]!.query;
    if (!isTextualQuery(query)) {
      const modality = 'image' in query ? 'image' : 'audio';
      if (mode !== 'dense')
        results[i] = new ContractError<SearchErrorCode>(
          'invalid-mode',
          `an ${modality} query is searched by its embedding only (mode dense), not ${mode}`,
        );
      else if (!layout.media?.[modality])
        results[i] = new ContractError<SearchErrorCode>(
          'invalid-media',
          `${resolved.collection} has no ${modality} vectors (rebuild it with \`searchbus reindex\` to add them)`,
        );
    } else if (mode !== 'dense' && !layout.sparse) {
      results[i] = new ContractError<SearchErrorCode>(
        'invalid-mode',
        `mode ${mode} needs sparse vectors, and ${resolved.collection} has none (rebuild it with \`searchbus reindex\` to add them)`,
      );
    }
  });
  const vectors = await queryVectors(requests, modes, results, resolved, deps);
  const fusion = deps.fusion ?? DEFAULT_FUSION;
  // Requests still short of topK documents, with the chunk limit of their next try.
  let open = requests
    .map((request, index) => ({ request, index, limit: initialLimit(request.topK, deps.oversampling, deps.maxChunksPerQuery) }))
    .filter(({ index }) => results[index] === undefined);
  while (open.length > 0) {
    const queries = open.map(({ request, index, limit }) => {
      // A query by example searches its modality's named vector, with the same tenant condition and filter.
      const searched = isTextualQuery(request.query)
        ? layout
        : { ...layout, dense: layout.media!['image' in request.query ? 'image' : 'audio']!.name };
      const filter = toQdrantFilter(request.filter, request.tenant);
      return chunkQuery(modes[index]!, searched, vectors[index]!, filter, limit, fusion, 'code' in request.query);
    });
    const pages = await searchIsolating(resolved, queries, deps);
    const again: typeof open = [];
    open.forEach((item, k) => {
      const page = pages[k]!;
      if (page instanceof Error) {
        results[item.index] = page;
        return;
      }
      const hits = collapseToDocuments(page, item.request.topK);
      const more = nextLimit(item.limit, deps.maxChunksPerQuery);
      if (more !== null && needsMore(page.length, item.limit, hits.length, item.request.topK)) again.push({ ...item, limit: more });
      else results[item.index] = hits;
    });
    open = again;
  }
  return { model: resolved.modelId, modes, results };
}

/** One embedding call for the requests that need a dense vector; the analyzer for those that need terms. */
async function queryVectors(
  requests: SearchRequestV1[],
  modes: SearchMode[],
  settled: HitsOrError[],
  resolved: ResolvedCollection,
  deps: SearchDependencies,
): Promise<QueryVectors[]> {
  const vectors: QueryVectors[] = requests.map(() => ({ dense: null, sparse: null }));
  const live = (i: number): boolean => settled[i] === undefined;
  const textOf = (i: number): string | null => {
    const query = requests[i]!.query;
    return 'text' in query ? query.text : 'code' in query ? query.code.text : null;
  };
  const embed = requests.map((_, i) => i).filter((i) => live(i) && modes[i] !== 'sparse' && textOf(i) !== null);
  if (embed.length > 0) {
    const encoder = await deps.encoder(resolved.modelId);
    const embedded = await encoder.embedQueries(embed.map((i) => textOf(i)!));
    embed.forEach((i, k) => (vectors[i]!.dense = Array.from(embedded[k]!)));
  }
  await embedExamples(requests, settled, vectors, resolved, deps);
  const sparse = resolved.layout.sparse;
  if (sparse) {
    const analyzer = sparseAnalyzer(sparse.analyzer);
    for (const [i, request] of requests.entries()) {
      const text = textOf(i);
      if (!live(i) || modes[i] === 'dense' || text === null) continue;
      // Code is analysed as an ingested code chunk is: identifiers, words and structure terms.
      const query = request.query;
      vectors[i]!.sparse = 'code' in query ? analyzer.queryOf(await codeTerms(query.code.language, text, analyzer)) : analyzer.query(text);
    }
  }
  return vectors;
}

/**
 * Queries by example, each with the model that built the collection's vector of its modality. A
 * medium that cannot be read or decoded settles its own request with `invalid-media`.
 */
async function embedExamples(
  requests: SearchRequestV1[],
  settled: HitsOrError[],
  vectors: QueryVectors[],
  resolved: ResolvedCollection,
  deps: SearchDependencies,
): Promise<void> {
  await Promise.all(
    requests.map(async (request, i) => {
      const query = request.query;
      if (settled[i] !== undefined || isTextualQuery(query)) return;
      const modality = 'image' in query ? 'image' : 'audio';
      const example = 'image' in query ? query.image : query.audio;
      const target = resolved.layout.media?.[modality];
      if (!target) return;
      if (!deps.media) {
        settled[i] = new ContractError<SearchErrorCode>('invalid-media', `this query consumer embeds no ${modality} queries`);
        return;
      }
      try {
        const bytes = await deps.media.read({ type: example.type ?? modality, ...example });
        vectors[i]!.dense = Array.from(await deps.media.embed(modality, target.model, bytes));
      } catch (error) {
        if (!isMediaContentError(error)) throw error;
        settled[i] = new ContractError<SearchErrorCode>('invalid-media', `query.${modality}: ${error.message}`, { cause: error });
      }
    }),
  );
}

/**
 * One batch call; if Qdrant refuses it for good, each query alone, so that one request Qdrant
 * cannot run fails by itself. A 404 means the resolved collection was dropped after a swap:
 * forget it and let the retry resolve the alias again.
 */
async function searchIsolating(
  resolved: ResolvedCollection,
  queries: ChunkQuery[],
  deps: SearchDependencies,
): Promise<Array<ScoredChunk[] | Error>> {
  try {
    return await deps.search(resolved.collection, queries);
  } catch (error) {
    if (statusOf(error) === 404) {
      deps.resolver.invalidate();
      throw new UnavailableError('collection-gone', `collection ${resolved.collection} is gone (alias swapped)`, { cause: error });
    }
    if (isRetriable(error) || queries.length === 1) throw error;
  }
  const settled = await Promise.allSettled(queries.map((q) => deps.search(resolved.collection, [q])));
  const retriable = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && isRetriable(s.reason));
  if (retriable) throw retriable.reason;
  return settled.map((s) => (s.status === 'fulfilled' ? (s.value[0] ?? []) : toError(s.reason)));
}

/** Retries retriable failures with short backoff while there is time before `deadline`. */
async function retryUntil<T>(fn: () => Promise<T>, deadline: number, now: () => number, signal: AbortSignal): Promise<T> {
  let wait = 20;
  for (;;) {
    signal.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (now() + wait >= deadline) throw error;
      await delay(wait, undefined, { signal });
      wait = Math.min(wait * 2, 500);
    }
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
