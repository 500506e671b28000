import { parseArgs } from 'node:util';
import { ContractError, isSearchMode, SEARCH_MODES, type SearchMode } from '../../topology/index.ts';

/**
 * The flags of `search`, `gateway` and `eval`. They have always shared one parser, so each accepts
 * the others' flags and ignores them; a command line that worked keeps working.
 */
export function parseQueryArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      k: { type: 'string' },
      filter: { type: 'string', multiple: true, default: [] },
      tenant: { type: 'string' },
      json: { type: 'boolean', default: false },
      port: { type: 'string' },
      split: { type: 'string', default: 'test' },
      concurrency: { type: 'string', default: '8' },
      namespace: { type: 'string' },
      model: { type: 'string' },
      compare: { type: 'string' },
      mode: { type: 'string' },
      'per-query': { type: 'string' },
      image: { type: 'string' },
      audio: { type: 'string' },
      code: { type: 'string' },
      after: { type: 'string' },
    },
  });
}

export function parseMode(raw: string | undefined): SearchMode | undefined {
  if (raw === undefined) return undefined;
  if (!isSearchMode(raw)) throw new ContractError('usage', `--mode must be one of ${SEARCH_MODES.join(', ')}, got "${raw}"`);
  return raw;
}

export function parseTopK(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  // Range is the query consumer's to check; only a non-number cannot be sent.
  if (!/^-?\d+$/.test(raw.trim())) throw new ContractError('usage', `--k must be a whole number, got "${raw}"`);
  return Number(raw);
}
