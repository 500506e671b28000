import { realpath } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { isWithin } from '../../topology/path-within.ts';
import type { Redis } from 'ioredis';
import { EvalSetStore, summariseEvalSet, type EvalSet, type EvalSetSummary } from '../../consumers/quality/index.ts';
import { ReindexQueue, type ReindexJobSummary, type ReindexRequest } from '../../consumers/reindex/index.ts';
import { ConfigError, ContractError, RejectedError, type SearchbusConfig, type Topology } from '../../topology/index.ts';
import { loadBeirSplit, parseBeirSplit, toEvalSet } from '../eval/index.ts';
import type { AdminBackend, EvalSetSource } from './admin-api.ts';

// The /admin/ endpoints' backend: eval sets in Redis (EvalSetStore, the same hashes the CLI
// writes), rebuilds on the BullMQ queue (ReindexQueue, as `searchbus reindex` queues them), and BEIR
// folders read from the gateway's disk only under the folders the operator allowed.

/** A server-side path outside the folders SEARCHBUS_GATEWAY_EVAL_SET_DIRS allows (or none are allowed): RejectedError `eval-set-path-refused`. */
function pathRefused(message: string): RejectedError {
  return new RejectedError('eval-set-path-refused', message);
}

export class RedisAdminBackend implements AdminBackend {
  private readonly store: EvalSetStore;
  private readonly queue: ReindexQueue;

  /** `redis` is a command connection of the backend's own (not the reply subscriber); `close()` leaves it open. */
  constructor(private readonly options: { redis: Redis; topology: Topology; config: SearchbusConfig; evalSetDirs: readonly string[] }) {
    this.store = new EvalSetStore(options.redis, options.topology);
    this.queue = new ReindexQueue({ connection: options.redis, redis: options.redis, topology: options.topology, config: options.config });
  }

  listEvalSets(tenant: string): Promise<EvalSetSummary[]> {
    return this.store.list(tenant);
  }

  async addEvalSet(source: EvalSetSource): Promise<{ summary: EvalSetSummary; replaced: boolean }> {
    let set: EvalSet;
    if ('path' in source) {
      const folder = await allowedEvalSetFolder(source.path, source.split, this.options.evalSetDirs);
      set = toEvalSet(source.name, source.tenant, folder, await loadBeirSplit(folder, source.split));
    } else {
      const split = await parseBeirSplit(
        source.split,
        { lines: source.qrels.split('\n'), source: `the uploaded qrels (${source.split})` },
        { lines: source.queries.split('\n'), source: 'the uploaded queries' },
      );
      set = toEvalSet(source.name, source.tenant, 'upload', split);
    }
    const replaced = await this.store.add(set);
    return { summary: summariseEvalSet(set), replaced };
  }

  async hasEvalSet(tenant: string, name: string): Promise<boolean> {
    return (await this.store.get(tenant, name)) !== null;
  }

  requestReindex(request: ReindexRequest): Promise<{ jobId: string; created: boolean }> {
    return this.queue.request(request);
  }

  getReindexJob(jobId: string): Promise<ReindexJobSummary | null> {
    return this.queue.get(jobId);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** The allowed folders as they really are (symlinks resolved); fails at start-up naming the setting. */
export function resolveEvalSetDirs(dirs: readonly string[], setting: string): Promise<string[]> {
  return Promise.all(
    dirs.map(async (dir) => {
      try {
        return await realpath(dir);
      } catch (error) {
        throw new ConfigError(setting, `${dir} cannot be used: ${(error as Error).message}`);
      }
    }),
  );
}

/**
 * The folder a request names, if it lies inside one of `roots` (already real paths), and so do the
 * two files the split reads once symlinks are followed: a link inside an allowed folder must not
 * read a file outside it. Nothing outside the roots is looked at, so a refusal tells nothing about
 * what exists there.
 */
export async function allowedEvalSetFolder(path: string, split: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) {
    throw pathRefused(
      'this gateway reads no eval set from its own disk (SEARCHBUS_GATEWAY_EVAL_SET_DIRS is empty): upload queries and qrels instead',
    );
  }
  if (!isAbsolute(path)) throw pathRefused(`path must be absolute, got ${JSON.stringify(path.slice(0, 256))}`);
  const inside = (candidate: string): string | undefined => roots.find((root) => isWithin(root, candidate));
  const lexical = resolve(path);
  const refused = (): RejectedError =>
    pathRefused(`${lexical} is not inside a folder this gateway reads eval sets from (SEARCHBUS_GATEWAY_EVAL_SET_DIRS)`);
  if (!inside(lexical)) throw refused();
  const real = await realpath(lexical).catch(() => {
    throw new ContractError('invalid-eval-set', `${lexical} does not exist`);
  });
  const root = inside(real);
  if (!root) throw refused();
  for (const file of [join(real, 'queries.jsonl'), join(real, 'qrels', `${split}.tsv`)]) {
    const target = await realpath(file).catch(() => null);
    // A missing file is reported by the BEIR reader; one that leads outside is refused.
    if (target !== null && !isWithin(root, target)) throw pathRefused(`${file} leads outside ${root}`);
  }
  return real;
}
