import { ContractError, parseSearchFilter, type MatchValue, type SearchErrorCode, type SearchFilter } from '../../topology/index.ts';

/**
 * `--filter` values of the CLI and `filter=` parameters of the gateway -> a SearchFilter.
 * Each argument is one condition, all of them must hold:
 *   key=value   key!=value   key>n   key>=n   key<n   key<=n
 * A value that is a whole number or true/false is matched as one; quote it ("2020") to match the
 * string. An argument starting with `{` is a whole filter in JSON and is merged in.
 * The result is checked like any request filter (ContractError `invalid-filter`).
 */
export function parseFilterArgs(args: readonly string[]): SearchFilter | undefined {
  if (args.length === 0) return undefined;
  // Conditions stay unchecked until the end, where the whole filter is validated at once.
  const merged: { must: unknown[]; should: unknown[]; mustNot: unknown[] } = { must: [], should: [], mustNot: [] };
  for (const arg of args) {
    if (arg.trimStart().startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(arg);
      } catch (error) {
        json = { invalid: `not JSON: ${(error as Error).message}` };
      }
      const filter = parseSearchFilter(json);
      merged.must.push(...(filter.must ?? []));
      merged.should.push(...(filter.should ?? []));
      merged.mustNot.push(...(filter.mustNot ?? []));
      continue;
    }
    const { clause, condition } = parseCondition(arg);
    merged[clause].push(condition);
  }
  const filter: Record<string, unknown[]> = {};
  if (merged.must.length > 0) filter.must = merged.must;
  if (merged.should.length > 0) filter.should = merged.should;
  if (merged.mustNot.length > 0) filter.mustNot = merged.mustNot;
  // Validates keys and values the same way the query consumer will.
  return parseSearchFilter(filter);
}

function parseCondition(arg: string): { clause: 'must' | 'mustNot'; condition: unknown } {
  const match = /^([^=!<>]+)(!=|>=|<=|=|>|<)(.*)$/s.exec(arg);
  if (!match)
    throw new ContractError<SearchErrorCode>(
      'invalid-filter',
      `filter "${arg}" needs an operator: key=value, key!=value, key>n, key>=n, key<n or key<=n`,
    );
  const key = (match[1] ?? '').trim();
  const operator = match[2];
  const raw = match[3] ?? '';
  switch (operator) {
    case '=':
      return { clause: 'must', condition: { key, match: { value: typedValue(raw) } } };
    case '!=':
      return { clause: 'mustNot', condition: { key, match: { value: typedValue(raw) } } };
    default: {
      const bound = Number(raw);
      const names = { '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' } as const;
      const name = names[operator as keyof typeof names];
      // A non-numeric bound is passed on as is, so validation names it.
      return { clause: 'must', condition: { key, range: { [name]: raw.trim() !== '' && Number.isFinite(bound) ? bound : raw } } };
    }
  }
}

function typedValue(raw: string): MatchValue {
  if (/^-?(0|[1-9]\d*)$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  const quoted = /^"(.*)"$/s.exec(raw);
  return quoted ? (quoted[1] ?? '') : raw;
}
