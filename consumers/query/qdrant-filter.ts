import type { Schemas } from '@qdrant/js-client-rest';
import { DEFAULT_TENANT, type FilterCondition, type SearchFilter } from '../../topology/index.ts';

type QdrantFilter = Schemas['Filter'];
type QdrantCondition = Schemas['FieldCondition'];

/**
 * The public filter -> a Qdrant filter. User conditions only ever name `metadata.<key>` (keys are
 * validated to contain no dots), and the tenant condition is a top-level `must` beside them: a
 * point must match it whatever the `should`/`mustNot` clauses say, so no filter reaches another
 * tenant's points.
 */
export function toQdrantFilter(filter: SearchFilter | undefined, tenant: string | undefined): QdrantFilter {
  const tenantCondition: QdrantCondition = { key: 'tenant', match: { value: tenant ?? DEFAULT_TENANT } };
  const qdrant: QdrantFilter = { must: [tenantCondition, ...(filter?.must ?? []).map(toCondition)] };
  if (filter?.should && filter.should.length > 0) qdrant.should = filter.should.map(toCondition);
  if (filter?.mustNot && filter.mustNot.length > 0) qdrant.must_not = filter.mustNot.map(toCondition);
  return qdrant;
}

function toCondition(condition: FilterCondition): QdrantCondition {
  const key = `metadata.${condition.key}`;
  if ('range' in condition) return { key, range: { ...condition.range } };
  const match = condition.match;
  return 'value' in match ? { key, match: { value: match.value } } : { key, match: { any: [...match.any] } };
}
