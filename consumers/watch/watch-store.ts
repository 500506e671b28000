import type { QdrantClient } from '@qdrant/js-client-rest';
import {
  collectionParams,
  getModelSpec,
  type CollectionLayout,
  type Topology,
  type Watch,
  type WatchQuery,
  type SearchFilter,
  UnavailableError,
} from '../../topology/index.ts';

// Watches are points in a collection of their own per model (`<namespace>-watches__<model>`): the
// watch's query vectors under the documents' vector names, its tenant, filter and threshold in the
// payload, and its query (text or inline example) too, so that a rebuild to another model can embed
// it again (sync). Matching a document is then one reverse search, whatever the number of watches.

export interface WatchPayload {
  watch_id: string;
  tenant: string;
  query: WatchQuery;
  filter: SearchFilter | null;
  threshold: number;
  created_at: string;
}

const PAGE = 256;

function toWatch(payload: WatchPayload): Watch {
  return {
    id: payload.watch_id,
    tenant: payload.tenant,
    query: payload.query,
    threshold: payload.threshold,
    createdAt: payload.created_at,
    ...(payload.filter ? { filter: payload.filter } : {}),
  };
}

export class WatchStore {
  /** Collections known to exist (created or seen), so a hot path does not ask Qdrant each time. */
  private readonly known = new Set<string>();

  constructor(
    private readonly qdrant: QdrantClient,
    private readonly topology: Topology,
  ) {}

  collectionOf(modelId: string): string {
    return this.topology.qdrant.watchCollection(modelId);
  }

  /** Creates the model's watch collection (the documents' dense and media vectors, no sparse one) if it is missing. */
  async ensure(modelId: string, layout: CollectionLayout): Promise<string> {
    const name = this.collectionOf(modelId);
    if (this.known.has(name)) return name;
    const { exists } = await this.qdrant.collectionExists(name);
    if (!exists) {
      const params = collectionParams(getModelSpec(modelId), { ...layout, sparse: null });
      try {
        await this.qdrant.createCollection(name, { vectors: params.vectors });
      } catch (error) {
        // Another process created it meanwhile.
        if ((error as { status?: unknown }).status !== 409) throw error;
      }
      await this.qdrant.createPayloadIndex(name, { field_name: 'tenant', field_schema: 'keyword', wait: true });
    }
    this.known.add(name);
    return name;
  }

  async put(collection: string, watch: Watch, vectors: Record<string, number[]>): Promise<void> {
    const payload: WatchPayload = {
      watch_id: watch.id,
      tenant: watch.tenant,
      query: watch.query,
      filter: watch.filter ?? null,
      threshold: watch.threshold,
      created_at: watch.createdAt,
    };
    await this.qdrant.upsert(collection, {
      wait: true,
      points: [{ id: watch.id, vector: vectors, payload: payload as unknown as Record<string, unknown> }],
    });
  }

  /** The watches of a collection, of one tenant or of all, oldest first. */
  async list(collection: string, tenant?: string): Promise<Watch[]> {
    const watches: Watch[] = [];
    let offset: string | number | undefined;
    for (;;) {
      const page = await this.qdrant.scroll(collection, {
        limit: PAGE,
        with_payload: true,
        with_vector: false,
        ...(tenant !== undefined ? { filter: { must: [{ key: 'tenant', match: { value: tenant } }] } } : {}),
        ...(offset !== undefined ? { offset } : {}),
      });
      for (const p of page.points) watches.push(toWatch(p.payload as unknown as WatchPayload));
      const next = page.next_page_offset;
      if (next === null || next === undefined || typeof next === 'object') break;
      offset = next;
    }
    return watches.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** The model a watch collection of this namespace was embedded with; null for any other name. */
  modelOf(collection: string): string | null {
    const prefix = this.collectionOf('');
    return collection.startsWith(prefix) && collection.length > prefix.length ? collection.slice(prefix.length) : null;
  }

  /** The namespace's watch collections, one per model watches were ever embedded with. */
  async collections(): Promise<string[]> {
    const prefix = this.collectionOf('');
    const { collections } = await this.qdrant.getCollections();
    return collections.map((c) => c.name).filter((n) => n.startsWith(prefix));
  }

  /** Removes a watch from every model's collection; false when no collection held it (or it belongs to another tenant). */
  async remove(id: string, tenant?: string): Promise<boolean> {
    let found = false;
    for (const collection of await this.collections()) {
      const [point] = await this.qdrant.retrieve(collection, { ids: [id], with_payload: ['tenant'], with_vector: false });
      if (!point || (tenant !== undefined && (point.payload as { tenant?: unknown } | null)?.tenant !== tenant)) continue;
      await this.qdrant.delete(collection, { wait: true, points: [id] });
      found = true;
    }
    return found;
  }

  /**
   * Brings the model's collection up to every watch held by another model's collection (a rebuild
   * swapped the alias to a new model): each missing watch is embedded again from its stored query.
   * Returns how many were added.
   */
  async sync(modelId: string, layout: CollectionLayout, embed: (watch: Watch) => Promise<Record<string, number[]>>): Promise<number> {
    const target = await this.ensure(modelId, layout);
    const others = (await this.collections()).filter((c) => c !== target);
    if (others.length === 0) return 0;
    const held = new Set((await this.list(target)).map((w) => w.id));
    let added = 0;
    for (const other of others)
      for (const watch of await this.list(other)) {
        if (held.has(watch.id)) continue;
        await this.put(target, watch, await embed(watch));
        held.add(watch.id);
        added++;
      }
    return added;
  }

  /**
   * Drops `modelId`'s watch collection, which no collection of the alias uses any more (a rebuild
   * swapped to another model and its old collection was dropped). Every watch it holds is first
   * embedded again into the collection of the model behind the alias (sync), and it is dropped
   * only when that collection holds each of them: a worker that dies in between leaves both, and
   * the next attempt does it again. `live` is the model behind the alias; its own collection is never dropped.
   */
  async retire(
    modelId: string,
    live: { modelId: string; layout: CollectionLayout },
    embed: (watch: Watch) => Promise<Record<string, number[]>>,
  ): Promise<'dropped' | 'absent' | 'live'> {
    if (modelId === live.modelId) return 'live';
    const name = this.collectionOf(modelId);
    if (!(await this.qdrant.collectionExists(name)).exists) return 'absent';
    await this.sync(live.modelId, live.layout, embed);
    const held = new Set((await this.list(this.collectionOf(live.modelId))).map((w) => w.id));
    const missing = (await this.list(name)).filter((w) => !held.has(w.id));
    if (missing.length > 0)
      throw new UnavailableError('watches-not-moved', `${missing.length} watches of ${name} are not in ${live.modelId}'s collection yet`);
    await this.qdrant.deleteCollection(name);
    this.known.delete(name);
    return 'dropped';
  }
}
