import { randomUUID } from 'node:crypto';
import type { QdrantClient } from '@qdrant/js-client-rest';
import {
  ContractError,
  parseWatchSpec,
  type SearchbusConfig,
  type Topology,
  type Watch,
  type WatchErrorCode,
} from '../../topology/index.ts';
import { CollectionResolver } from '../runtime/index.ts';
import type { MediaEncoder } from '../embedding/index.ts';
import { embedWatch } from './embed-watch.ts';
import { WatchStore } from './watch-store.ts';

export interface WatchRegistryOptions {
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
  /** Embeds texts as queries with a model: a watch is embedded with the model behind the alias. */
  embedQueries: (modelId: string) => Promise<(texts: string[]) => Promise<Float32Array[]>>;
  /** Embeds examples (image and audio watches); without it they are refused `invalid-media`. */
  media?: Pick<MediaEncoder, 'embed'>;
}

/**
 * Adds, lists and removes watches: a watch is embedded with the model of the collection behind the
 * alias and stored in that model's watch collection (the matcher embeds it again after a swap to
 * another model). The clients (producers' WatchClient: CLI, gateway) reach it through an interface.
 */
export class WatchRegistry {
  private readonly store: WatchStore;
  private readonly resolver: CollectionResolver;

  constructor(private readonly options: WatchRegistryOptions) {
    this.store = new WatchStore(options.qdrant, options.topology);
    this.resolver = new CollectionResolver(options.qdrant, options.topology.qdrant.alias, options.config.query.aliasCacheTtlMs);
  }

  /** `{ query, tenant?, filter?, threshold? }` -> the stored watch with its new id; bad input is a ContractError (WatchErrorCode). */
  async add(input: unknown): Promise<Watch> {
    const spec = parseWatchSpec(input);
    const { collection, embed } = await this.target();
    const watch: Watch = { ...spec, id: randomUUID(), createdAt: new Date().toISOString() };
    await this.store.put(collection, watch, await embed(watch));
    return watch;
  }

  /**
   * The watch collection of the model behind the alias, brought up to the watches of other models'
   * collections first (a swap to another model: they are embedded again, as the matcher does).
   */
  private async target(): Promise<{ collection: string; embed: (watch: Watch) => Promise<Record<string, number[]>> }> {
    const { modelId, layout } = await this.resolver.resolve();
    const media = this.options.media;
    // The model loads only when a watch is embedded (`watch list` loads none).
    const embed = async (watch: Watch): Promise<Record<string, number[]>> =>
      embedWatch(watch.query, layout, { embedQueries: await this.options.embedQueries(modelId), ...(media ? { media } : {}) });
    await this.store.sync(modelId, layout, embed);
    return { collection: this.store.collectionOf(modelId), embed };
  }

  /** The watches of a tenant (all tenants when omitted), oldest first. */
  async list(tenant?: string): Promise<Watch[]> {
    return this.store.list((await this.target()).collection, tenant);
  }

  /** Removes a watch (of `tenant`, when given); a ContractError `watch-not-found` when there is none. */
  async remove(id: string, tenant?: string): Promise<void> {
    if (!UUID.test(id)) throw new ContractError<WatchErrorCode>('watch-not-found', `no watch ${id.slice(0, 64)}`);
    if (!(await this.store.remove(id, tenant))) throw new ContractError<WatchErrorCode>('watch-not-found', `no watch ${id}`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
