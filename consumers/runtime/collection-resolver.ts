import type { QdrantClient } from '@qdrant/js-client-rest';
import { layoutOf, parseCollectionName, UnavailableError, type CollectionLayout } from '../../topology/index.ts';

export interface ResolvedCollection {
  /** The concrete collection behind the alias; searched by name, never through the alias. */
  collection: string;
  /** The model that built it, read from its name. */
  modelId: string;
  /** Its vectors: named dense `text` (or a legacy unnamed one) and the sparse vector, if any. */
  layout: CollectionLayout;
}

type LayoutSource = Pick<QdrantClient, 'getCollection'>;

/**
 * A collection's model (from its name) and vector layout (from its config). The layout of a
 * collection never changes once it exists, so callers may keep the answer as long as they like.
 */
export async function describeCollection(qdrant: LayoutSource, collection: string): Promise<ResolvedCollection> {
  const parsed = parseCollectionName(collection);
  if (!parsed) throw unresolved(`collection ${collection} does not record its model (<alias>__<model>__v<n>)`, false);
  let info;
  try {
    info = await qdrant.getCollection(collection);
  } catch (error) {
    // Dropped between reading the alias and its config: the next resolution sees the new one.
    if ((error as { status?: unknown }).status === 404) throw unresolved(`collection ${collection} is gone`, true, error);
    throw error;
  }
  const layout = layoutOf(info);
  if (typeof layout === 'string') throw unresolved(`collection ${collection} is not a searchbus collection: ${layout}`, false);
  return { collection, modelId: parsed.modelId, layout };
}

/**
 * The alias names no collection, or one whose name does not say which model built it: an
 * UnavailableError `collection-unresolved`. A missing alias may appear (topology being applied),
 * so that one is retriable; a foreign name will not change.
 */
function unresolved(message: string, retriable: boolean, cause?: unknown): UnavailableError {
  return new UnavailableError('collection-unresolved', message, { retriable, cause });
}

/**
 * Alias -> collection -> model, cached for `ttlMs`.
 *
 * The consumer embeds with the resolved model and searches the resolved collection by its own
 * name, so vector and index always belong together, even while the alias is being swapped. A
 * cached answer can only be stale for `ttlMs` after a swap, during which the old collection still
 * serves (it is dropped after a grace period far longer than the TTL); if it is already gone the
 * search fails with 404 and the consumer calls `invalidate()` and resolves again. Resolving on
 * every batch would cost a Qdrant round trip per batch for a change that happens a few times a
 * year.
 */
export class CollectionResolver {
  private cached: { value: ResolvedCollection; expiresAt: number } | undefined;
  private pending: Promise<ResolvedCollection> | undefined;
  /** Layouts never change, so a collection's config is read once, not on every TTL expiry. */
  private readonly layouts = new Map<string, ResolvedCollection>();

  constructor(
    private readonly qdrant: Pick<QdrantClient, 'getAliases' | 'getCollection'>,
    private readonly alias: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(): Promise<ResolvedCollection> {
    if (this.cached && this.now() < this.cached.expiresAt) return this.cached.value;
    // Concurrent callers share one lookup.
    this.pending ??= this.lookup().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async lookup(): Promise<ResolvedCollection> {
    const { aliases } = await this.qdrant.getAliases();
    const collection = aliases.find((a) => a.alias_name === this.alias)?.collection_name;
    if (!collection) throw unresolved(`alias ${this.alias} points at no collection (run \`searchbus topology apply\`)`, true);
    if (!parseCollectionName(collection)) {
      throw unresolved(`alias ${this.alias} points at ${collection}, whose name does not record a model (<alias>__<model>__v<n>)`, false);
    }
    const known = this.layouts.get(collection);
    const value = known ?? (await describeCollection(this.qdrant, collection));
    if (!known) {
      if (this.layouts.size > 16) this.layouts.clear();
      this.layouts.set(collection, value);
    }
    this.cached = { value, expiresAt: this.now() + this.ttlMs };
    return value;
  }
}
