// Two `eval --per-query` files of the same queries, compared query by query with the shared paired
// randomization test (the one `eval --compare` and the reindex gate use), on all queries and, with
// --subset <qrels.tsv>, separately on the queries that file judges and on the others: a setting
// chosen on one subset is then checked on queries it was not chosen on.
// Usage: node --import tsx test/bench/compare-per-query.ts <a.json> <b.json> [--subset <qrels.tsv>]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { compareRuns, formatComparison, type QueryScores, type RunScores } from '../../consumers/quality/index.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { subset: { type: 'string' } } });
const [fileA, fileB] = positionals;
if (!fileA || !fileB) throw new Error('usage: compare-per-query.ts <a.json> <b.json> [--subset <qrels.tsv>]');

interface PerQueryFile {
  collection: string;
  model: string;
  mode: string | null;
  queries: QueryScores[];
}

const read = async (path: string): Promise<PerQueryFile> => JSON.parse(await readFile(path, 'utf8')) as PerQueryFile;
const [a, b] = await Promise.all([read(fileA), read(fileB)]);

function run(perQuery: QueryScores[]): RunScores {
  const mean = (metric: keyof Omit<QueryScores, 'id'>): number =>
    perQuery.reduce((sum, q) => sum + q[metric], 0) / Math.max(1, perQuery.length);
  return {
    ndcg_at_10: mean('ndcg_at_10'),
    recall_at_100: mean('recall_at_100'),
    mrr_at_10: mean('mrr_at_10'),
    queries: perQuery.length,
    perQuery,
  };
}

function report(label: string, keep: (id: string) => boolean): void {
  const ra = run(a.queries.filter((q) => keep(q.id)));
  const rb = run(b.queries.filter((q) => keep(q.id)));
  console.log(`${label} (${ra.queries} queries): ${a.model} ${a.mode ?? ''} -> ${b.model} ${b.mode ?? ''}`);
  for (const line of formatComparison(compareRuns(ra, rb))) console.log(`  ${line}`);
}

report('all', () => true);
if (values.subset) {
  const ids = new Set(
    (await readFile(values.subset, 'utf8'))
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t')[0])
      .filter((id): id is string => Boolean(id)),
  );
  report(`in ${values.subset}`, (id) => ids.has(id));
  report(`not in ${values.subset}`, (id) => !ids.has(id));
}
