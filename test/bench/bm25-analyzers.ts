// The sparse analyzers alone, without the pipeline: brute-force BM25 over whole documents (title and
// text, the analyzer's document weights, Qdrant's idf formula ln(1 + (N - n + 0.5) / (n + 0.5)))
// on a BEIR split, one line per analyzer. A quick check that a change of stop words or stemming does
// not hurt lexical retrieval before a collection is rebuilt with it; the pipeline ranks chunks, so
// its sparse figures differ somewhat.
// Usage: node --import tsx test/bench/bm25-analyzers.ts <beir-dir> <split> <analyzer-id>...
import { readFile } from 'node:fs/promises';
import { SparseAnalyzer } from '../../consumers/embedding/index.ts';
import { bm25Score, idfOver } from '../support/brute-force-bm25.ts';
import { RANKING_DEPTH, scoreRankings } from '../../consumers/quality/index.ts';
import { judgementsOf, loadBeirSplit } from '../../infra/eval/beir-dataset.ts';
import { getAnalyzerSpec } from '../../topology/index.ts';

const [dir, split, ...analyzerIds] = process.argv.slice(2);
if (!dir || !split || analyzerIds.length === 0) throw new Error('usage: bm25-analyzers.ts <beir-dir> <split> <analyzer-id>...');

const corpus = (await readFile(`${dir}/corpus.jsonl`, 'utf8'))
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as { _id: string; title?: string; text: string });
const judged = await loadBeirSplit(dir, split);

for (const id of analyzerIds) {
  const analyzer = new SparseAnalyzer(getAnalyzerSpec(id));
  const docs = corpus.map((d) => ({ id: d._id, vector: analyzer.document(`${d.title ?? ''}\n${d.text}`) }));
  const idf = idfOver(docs.map((d) => d.vector));
  const rankings = new Map<string, string[]>();
  for (const q of judged.queries) {
    const vector = analyzer.query(q.text);
    const ranked = docs
      .map((d) => ({ id: d.id, score: bm25Score(vector, d.vector, idf) }))
      .filter((d) => d.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, RANKING_DEPTH);
    rankings.set(
      q.id,
      ranked.map((d) => d.id),
    );
  }
  const scores = scoreRankings(judged.queries, (queryId) => judgementsOf(judged, queryId), rankings);
  console.log(
    `${id}: nDCG@10 ${scores.ndcg_at_10.toFixed(4)}  recall@100 ${scores.recall_at_100.toFixed(4)}  MRR@10 ${scores.mrr_at_10.toFixed(4)}  (${scores.queries} queries, ${docs.length} documents)`,
  );
}
