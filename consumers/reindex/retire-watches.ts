import type { QdrantClient } from '@qdrant/js-client-rest';
import { parseCollectionName, UnavailableError, type Topology } from '../../topology/index.ts';
import type { MediaEncoder } from '../embedding/index.ts';
import type { QueryEncoder } from '../query/index.ts';
import { CollectionResolver } from '../runtime/index.ts';
import { embedWatch, WatchStore } from '../watch/index.ts';

export interface RetireWatchesContext {
  qdrant: QdrantClient;
  topology: Topology;
  /** Embeds the watches again with the model behind the alias; without it a collection still holding unmoved watches is kept. */
  queryEncoder?: (modelId: string) => Promise<QueryEncoder>;
  media: Pick<MediaEncoder, 'embed'>;
}

/**
 * After a drop: the watch collection of `modelId` goes too once no collection of the alias is
 * built with that model any more (a rollback to it, or a rebuild to it under way, keeps it), its
 * watches embedded again into the collection of the model behind the alias first. A drop job runs
 * it, so a worker that dies in between leaves the job to be retried; start-up reconciliation
 * schedules it again for a watch collection left behind.
 */
export async function retireWatches(context: RetireWatchesContext, modelId: string): Promise<string> {
  const { qdrant, topology } = context;
  const store = new WatchStore(qdrant, topology);
  const name = store.collectionOf(modelId);
  const { collections } = await qdrant.getCollections();
  const user = collections.map((c) => c.name).find((c) => modelUsed(c, topology.qdrant.alias, modelId));
  if (user) return `kept ${name}: ${user} is built with ${modelId}`;
  const live = await new CollectionResolver(qdrant, topology.qdrant.alias, 0).resolve();
  const outcome = await store.retire(modelId, live, async (watch) => {
    if (!context.queryEncoder)
      throw new UnavailableError('watches-not-moved', `no query encoder here to embed the watches of ${name} again`);
    const encoder = await context.queryEncoder(live.modelId);
    return embedWatch(watch.query, live.layout, { embedQueries: (texts) => encoder.embedQueries(texts), media: context.media });
  });
  if (outcome === 'dropped') return `dropped ${name}, its watches embedded again into ${store.collectionOf(live.modelId)}`;
  return outcome === 'live' ? `kept ${name}: the alias serves ${modelId}` : `no ${name} to drop`;
}

/** A collection of this alias built with the model. */
function modelUsed(collection: string, alias: string, modelId: string): boolean {
  const parsed = parseCollectionName(collection);
  return parsed?.alias === alias && parsed.modelId === modelId;
}

/** The models of this namespace's watch collections that no collection of the alias is built with. */
export async function orphanWatchCollections(qdrant: QdrantClient, topology: Topology): Promise<string[]> {
  const store = new WatchStore(qdrant, topology);
  const { collections } = await qdrant.getCollections();
  const names = collections.map((c) => c.name);
  return names.filter((n) => {
    const model = store.modelOf(n);
    return model !== null && !names.some((c) => modelUsed(c, topology.qdrant.alias, model));
  });
}
