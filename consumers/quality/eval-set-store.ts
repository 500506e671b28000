import type { Redis } from 'ioredis';
import { ContractError, isValidTenant, type Topology } from '../../topology/index.ts';
import type { Judgements } from './retrieval-metrics.ts';

// Judged query sets stored by searchbus, one namespace per tenant: a tenant's set names queries
// searched with that tenant only, and judgements of that tenant's documents, so no tenant's queries
// or documents enter another's evaluation. The corpus itself is not stored: it is what the tenant
// ingested, and the set is searched against the index.

export interface EvalSet {
  name: string;
  tenant: string;
  /** The BEIR split the queries and judgements came from. */
  split: string;
  /** Where it was read from (informational). */
  source: string;
  addedAt: string;
  queries: Array<{ id: string; text: string }>;
  /** query id -> document id -> grade. */
  qrels: Record<string, Record<string, number>>;
}

export type EvalSetSummary = Omit<EvalSet, 'queries' | 'qrels'> & { queries: number; judgements: number };

export const EVAL_SET_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function judgementsFor(set: EvalSet, queryId: string): Judgements {
  return new Map(Object.entries(set.qrels[queryId] ?? {}));
}

export function summariseEvalSet(set: EvalSet): EvalSetSummary {
  const { queries, qrels, ...rest } = set;
  return { ...rest, queries: queries.length, judgements: Object.values(qrels).reduce((n, judged) => n + Object.keys(judged).length, 0) };
}

/** One Redis hash per tenant (`<ns>:eval-sets:<tenant>`), field = set name, value = the set as JSON. */
export class EvalSetStore {
  constructor(
    private readonly redis: Pick<Redis, 'hset' | 'hget' | 'hvals'>,
    private readonly topology: Topology,
  ) {}

  private key(tenant: string): string {
    if (!isValidTenant(tenant)) throw new ContractError('invalid-eval-set', `tenant "${String(tenant)}" is not a valid tenant`);
    return `${this.topology.redis.keyPrefix}eval-sets:${tenant}`;
  }

  /** Adds or replaces a set; returns whether one of that name was replaced. */
  async add(set: EvalSet): Promise<boolean> {
    if (!EVAL_SET_NAME_PATTERN.test(set.name))
      throw new ContractError('invalid-eval-set', `eval set name "${set.name}" must match ${String(EVAL_SET_NAME_PATTERN)}`);
    if (set.queries.length === 0) throw new ContractError('invalid-eval-set', `eval set ${set.name} has no judged queries`);
    return (await this.redis.hset(this.key(set.tenant), set.name, JSON.stringify(set))) === 0;
  }

  async get(tenant: string, name: string): Promise<EvalSet | null> {
    const raw = await this.redis.hget(this.key(tenant), name);
    return raw === null ? null : (JSON.parse(raw) as EvalSet);
  }

  /** The sets of one tenant, by name. */
  async list(tenant: string): Promise<EvalSetSummary[]> {
    const values = await this.redis.hvals(this.key(tenant));
    return values.map((raw) => summariseEvalSet(JSON.parse(raw) as EvalSet)).sort((a, b) => a.name.localeCompare(b.name));
  }
}
