import type { FilterCondition, SearchFilter } from '../../topology/index.ts';

/**
 * Whether a document's metadata passes a search filter, as Qdrant would judge it (query/qdrant-filter.ts):
 * all of `must`, at least one of `should` when there is any, none of `mustNot`. A condition on an
 * array field holds when it holds for one of its elements; on a missing field, never.
 */
export function passesFilter(filter: SearchFilter | null | undefined, metadata: Readonly<Record<string, unknown>>): boolean {
  if (!filter) return true;
  const holds = (c: FilterCondition): boolean => conditionHolds(c, metadata[c.key]);
  if (!(filter.must ?? []).every(holds)) return false;
  if (filter.should && filter.should.length > 0 && !filter.should.some(holds)) return false;
  return !(filter.mustNot ?? []).some(holds);
}

function conditionHolds(condition: FilterCondition, field: unknown): boolean {
  const values = Array.isArray(field) ? (field as unknown[]) : field === undefined || field === null ? [] : [field];
  if ('range' in condition) {
    const { gt, gte, lt, lte } = condition.range;
    return values.some(
      (v) =>
        typeof v === 'number' &&
        (gt === undefined || v > gt) &&
        (gte === undefined || v >= gte) &&
        (lt === undefined || v < lt) &&
        (lte === undefined || v <= lte),
    );
  }
  const match = condition.match;
  if ('value' in match) return values.some((v) => v === match.value);
  return values.some((v) => (match.any as unknown[]).includes(v));
}
