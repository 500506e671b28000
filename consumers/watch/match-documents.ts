import { pointId, type IndexedEventV1, type MatchEventV1, type SearchFilter } from '../../topology/index.ts';
import { passesFilter } from './metadata-filter.ts';

/** A document's point as the matcher reads it: its dense and media vectors by name, and its metadata. */
export interface DocumentPoint {
  vectors: Record<string, number[]>;
  metadata: Record<string, unknown>;
  /** The payload's title ('' or absent: none). */
  title?: string;
}

/** One reverse search: a document vector against the watches' vector of the same name, within a tenant. */
export interface WatchQuery {
  vector: number[];
  using: string;
  tenant: string;
  limit: number;
}

export interface WatchCandidate {
  watchId: string;
  score: number;
  threshold: number;
  filter: SearchFilter | null;
}

export interface MatchCollections {
  /** The documents' collection behind the alias (the one the feed's events were written to, or its successor after a swap). */
  documents: string;
  /** The watch collection of its model. */
  watches: string;
  /** The vector names a document is matched by: its dense and media vectors. */
  vectorNames: readonly string[];
}

export interface MatchDependencies {
  /** Where to read documents and search watches (the watch collection created, and synced after a model change, on first use). */
  collections(): Promise<MatchCollections>;
  /** The document's points (chunk 0..chunks-1); none when it is gone (deleted or replaced meanwhile). */
  readDocument(collection: string, ids: string[]): Promise<DocumentPoint[]>;
  /** Every query of a batch in one request; per query, the watches best first. */
  searchWatches(collection: string, queries: WatchQuery[]): Promise<WatchCandidate[][]>;
  maxMatchesPerDocument: number;
  now(): Date;
}

/**
 * The matches of a batch of feed events. One batch request holds every
 * reverse search of every indexed document (each of its points' vectors against the watches of its
 * tenant); a watch matches a document when its best score reaches the watch's threshold and the
 * document's metadata passes the watch's filter. Deletes match nothing, nor does a document already
 * gone by the time it is read.
 */
export async function matchIndexed(events: readonly IndexedEventV1[], deps: MatchDependencies): Promise<MatchEventV1[]> {
  // A repeat within the batch (the feed is at least once) is matched once.
  const versions = new Map(events.map((e) => [`${e.tenant}/${e.id}@${e.partition}:${e.offset}`, e]));
  const group = [...versions.values()].filter((e) => e.op === 'indexed' && e.chunks > 0);
  if (group.length === 0) return [];
  const { documents: collection, watches, vectorNames } = await deps.collections();
  const matches: MatchEventV1[] = [];
  const documents = await Promise.all(
    group.map((e) =>
      deps.readDocument(
        collection,
        Array.from({ length: e.chunks }, (_, i) => pointId(e.tenant, e.id, i)),
      ),
    ),
  );
  const queries: WatchQuery[] = [];
  const owner: number[] = [];
  documents.forEach((points, d) => {
    for (const point of points)
      for (const name of vectorNames) {
        const vector = point.vectors[name];
        if (!vector || vector.length === 0) continue;
        queries.push({ vector, using: name, tenant: group[d]!.tenant, limit: deps.maxMatchesPerDocument });
        owner.push(d);
      }
  });
  if (queries.length === 0) return [];
  const results = await deps.searchWatches(watches, queries);
  // Per document, each watch's best score over the document's points and vectors.
  const best = group.map(() => new Map<string, WatchCandidate>());
  results.forEach((candidates, q) => {
    const seen = best[owner[q]!]!;
    for (const c of candidates) if ((seen.get(c.watchId)?.score ?? -Infinity) < c.score) seen.set(c.watchId, c);
  });
  const matchedAt = deps.now().toISOString();
  group.forEach((event, d) => {
    const metadata = documents[d]![0]?.metadata ?? {};
    const title = documents[d]![0]?.title;
    const found = [...best[d]!.values()]
      .filter((c) => c.score >= c.threshold && passesFilter(c.filter, metadata))
      .sort((a, b) => b.score - a.score)
      .slice(0, deps.maxMatchesPerDocument);
    for (const c of found)
      matches.push({
        schemaVersion: 1,
        watchId: c.watchId,
        tenant: event.tenant,
        id: event.id,
        score: c.score,
        ...(title ? { title } : {}),
        partition: event.partition,
        offset: event.offset,
        position: event.position,
        matchedAt,
      });
  });
  return matches;
}

/** The key a match is remembered by: the watch and the document version (its ingest record). */
export function matchKey(match: MatchEventV1): string {
  return `${match.watchId}|${match.tenant}/${match.id}@${match.partition}:${match.offset}`;
}
