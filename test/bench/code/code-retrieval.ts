// Code-to-code retrieval: can a tidied-up copy of a function find the function it came from?
// Corpus: the functions and methods (as `searchbus ingest` chunks them, consumers/embedding/code) of
// JavaScript packages in node_modules and of the Python standard library (Debian's python3.11).
// Queries: sampled functions rewritten by code-variants.ts (locals renamed, comments and docstrings
// removed, re-spaced and re-indented, independent statements swapped where safe). Each query has
// one right answer: its source function.
// Rankings, brute force in this process, as the pipeline ranks chunks and collapses them to documents:
//   dense   the collection's text model on the code (cosine, chunk windows as the encoder makes them)
//   sparse  the code analyzer's terms (BM25 weights, Qdrant's idf formula over chunks)
//   hybrid  both fused by weighted RRF with the query consumer's defaults (k, sparse weight)
//   winnow  the baseline: MOSS-style winnowing (k-gram hashes of normalised tokens, identifiers and
//           literals folded, window w), scored by the share of the query's fingerprints a document holds
// Usage: node --import tsx test/bench/code/code-retrieval.ts [--queries 2000] [--corpus 6000] [--model all-minilm-l6-v2]
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  codeSegments,
  codeTerms,
  cosineSimilarity,
  SparseAnalyzer,
  withSyntaxTree,
  type SparseVector,
} from '../../../consumers/embedding/index.ts';
import { loadEncoder } from '../../../infra/models/index.ts';
import {
  DEFAULT_ANALYZER_ID,
  DEFAULT_CODE_DENSE_WEIGHT,
  DEFAULT_RRF_K,
  DEFAULT_SPARSE_WEIGHT,
  getAnalyzerSpec,
  getModelSpec,
} from '../../../topology/index.ts';
import { bm25Score, idfOver } from '../../support/brute-force-bm25.ts';
import { variantOf, type VariantLanguage } from './code-variants.ts';

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '2000' },
    corpus: { type: 'string', default: '6000' },
    model: { type: 'string', default: 'all-minilm-l6-v2' },
    seed: { type: 'string', default: '21' },
  },
});

const root = new URL('../../../node_modules/', import.meta.url).pathname;
/** Packages (readable source, licence) the JavaScript functions come from. */
const JS_SOURCES = [
  'eslint/lib',
  'kafkajs/src',
  'ioredis/built',
  'mammoth/lib',
  'jszip/lib',
  'yaml/dist',
  'bullmq/dist/cjs',
  'fast-check/lib/cjs',
  'dependency-cruiser/src',
].map((dir) => join(root, dir));
const PYTHON_SOURCE = '/usr/lib/python3.11';

interface Fn {
  id: string;
  language: VariantLanguage;
  text: string;
}

async function sourceFiles(dir: string, extension: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    if (!e.isFile() || extname(e.name) !== extension || /\.min\.|test|site-packages|dist-packages/.test(path)) continue;
    if ((await stat(path)).size < 200_000) files.push(path);
  }
  return files.sort();
}

/** Deterministic shuffle (mulberry32), so a run can be repeated. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function functionsOf(language: VariantLanguage, files: string[], max: number): Promise<Fn[]> {
  const seen = new Set<string>();
  const out: Fn[] = [];
  for (const file of shuffled(files, Number(values.seed))) {
    const text = await readFile(file, 'utf8');
    for (const segment of await codeSegments(language, text)) {
      const lines = segment.endLine - segment.startLine + 1;
      // Functions of 4 to 80 lines: shorter ones are mostly accessors that exist many times over.
      if (!segment.definition || lines < 4 || lines > 80) continue;
      const key = segment.text.replace(/\s+/g, ' ');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ id: `${file.replace(root, '')}:${segment.startLine}`, language, text: segment.text });
    }
    if (out.length >= max) break;
  }
  return out.slice(0, max);
}

const perLanguage = Math.floor(Number(values.corpus) / 2);
const corpus = [
  ...(await functionsOf('javascript', (await Promise.all(JS_SOURCES.map((d) => sourceFiles(d, '.js')))).flat(), perLanguage)),
  ...(await functionsOf('python', await sourceFiles(PYTHON_SOURCE, '.py'), perLanguage)),
];
const queryCount = Number(values.queries);
const sampled = [
  ...shuffled(
    corpus.filter((f) => f.language === 'javascript'),
    7,
  ).slice(0, queryCount / 2),
  ...shuffled(
    corpus.filter((f) => f.language === 'python'),
    7,
  ).slice(0, queryCount / 2),
];
const queries = await Promise.all(
  sampled.map(async (fn) => ({ target: fn.id, language: fn.language, ...(await variantOf(fn.language, fn.text)) })),
);
console.error(
  `corpus ${corpus.length} functions, ${queries.length} queries (${queries.filter((q) => q.swaps > 0).length} with statements swapped)`,
);

// ---- dense and sparse, per chunk window like the encoder's points
const words = new SparseAnalyzer(getAnalyzerSpec(DEFAULT_ANALYZER_ID));
const encoder = await loadEncoder(getModelSpec(values.model));
const started = performance.now();
const embedded = await encoder.embedChunks(
  corpus.map((f) => f.text),
  { inputType: 'document' },
);
const chunks: Array<{ doc: number; dense: Float32Array; sparse: SparseVector }> = [];
for (const [doc, windows] of embedded.entries()) {
  for (const w of windows)
    chunks.push({ doc, dense: w.vector, sparse: words.documentOf(await codeTerms(corpus[doc]!.language, w.text, words)) });
}
const queryDense = await encoder.embed(
  queries.map((q) => q.text),
  { inputType: 'query' },
);
const querySparse = await Promise.all(queries.map(async (q) => words.queryOf(await codeTerms(q.language, q.text, words))));
await encoder.close();
console.error(`embedded ${chunks.length} chunks and ${queries.length} queries in ${((performance.now() - started) / 1000).toFixed(0)} s`);

const idf = idfOver(chunks.map((c) => c.sparse));
const bm25 = (query: SparseVector, doc: SparseVector): number => bm25Score(query, doc, idf);

const DEPTH = 100;
/** Chunk scores -> the best `DEPTH` chunks, in order. */
function topChunks(score: (c: (typeof chunks)[number]) => number): number[] {
  return chunks
    .map((c, i) => ({ i, s: score(c) }))
    .filter((x) => x.s > 0 || x.s < 0)
    .sort((a, b) => b.s - a.s)
    .slice(0, DEPTH)
    .map((x) => x.i);
}
/** Chunks in order -> documents in order (a document's first chunk is its best), as the query consumer collapses them. */
function documents(chunkOrder: number[]): number[] {
  const seen = new Set<number>();
  for (const i of chunkOrder) seen.add(chunks[i]!.doc);
  return [...seen];
}
function rrf(lists: number[][], weights: number[]): number[] {
  const scores = new Map<number, number>();
  lists.forEach((list, l) =>
    list.forEach((chunk, rank) => scores.set(chunk, (scores.get(chunk) ?? 0) + weights[l]! / (DEFAULT_RRF_K + rank))),
  );
  return [...scores.entries()].sort((a, b) => b[1] - a[1]).map(([chunk]) => chunk);
}

// ---- the winnowing baseline: MOSS (Schleimer, Wilkerson, Aiken 2003), tokens from the same parser
const K = 5;
const W = 4;
async function fingerprints(language: VariantLanguage, text: string): Promise<Set<number>> {
  const tokens = await withSyntaxTree(language, text, (rootNode) => {
    const out: string[] = [];
    const visit = (node: typeof rootNode): void => {
      if (node.type.includes('comment')) return;
      if (node.type === 'string' || node.type === 'template_string') return void out.push('S');
      if (node.childCount === 0) {
        out.push(node.type.includes('identifier') ? 'V' : /number|integer|float/.test(node.type) ? 'N' : node.type);
        return;
      }
      for (const child of node.children) if (child) visit(child);
    };
    visit(rootNode);
    return out;
  });
  const hashes: number[] = [];
  for (let i = 0; i + K <= tokens.length; i++)
    hashes.push(
      createHash('sha1')
        .update(tokens.slice(i, i + K).join('\u0000'))
        .digest()
        .readUInt32BE(0),
    );
  const picked = new Set<number>();
  if (hashes.length <= W) hashes.forEach((h) => picked.add(h));
  for (let i = 0; i + W <= hashes.length; i++) picked.add(Math.min(...hashes.slice(i, i + W)));
  return picked;
}
const docPrints = await Promise.all(corpus.map((f) => fingerprints(f.language, f.text)));

const byId = new Map(corpus.map((f, i) => [f.id, i]));
type Ranker = (q: number) => number[];
/** Each ranking once per query: the hybrid rows fuse the same two lists. */
function memo(rank: Ranker): Ranker {
  const done = new Map<number, number[]>();
  return (q) => done.get(q) ?? done.set(q, rank(q)).get(q)!;
}
const dense: Ranker = memo((q) => topChunks((c) => cosineSimilarity(c.dense, queryDense[q]!)));
const sparse: Ranker = memo((q) => topChunks((c) => bm25(querySparse[q]!, c.sparse)));
const rankers: Record<string, Ranker> = {
  dense,
  'code sparse': sparse,
  [`hybrid (rrf k=${DEFAULT_RRF_K}, sparse weight ${DEFAULT_SPARSE_WEIGHT})`]: (q) =>
    rrf([dense(q), sparse(q)], [1, DEFAULT_SPARSE_WEIGHT]),
  'hybrid (rrf, sparse weight 1)': (q) => rrf([dense(q), sparse(q)], [1, 1]),
  [`hybrid, code query default (rrf, dense weight ${DEFAULT_CODE_DENSE_WEIGHT})`]: (q) =>
    rrf([dense(q), sparse(q)], [DEFAULT_CODE_DENSE_WEIGHT, 1]),
};

const rows: Array<{ name: string; overall: [number, number]; js: [number, number]; py: [number, number] }> = [];
function measure(name: string, rankDocs: (q: number) => Promise<number[]> | number[]): Promise<void> {
  return (async () => {
    const rr: number[] = [];
    for (let q = 0; q < queries.length; q++) {
      const ranked = await rankDocs(q);
      const at = ranked.indexOf(byId.get(queries[q]!.target)!);
      rr.push(at >= 0 ? 1 / (at + 1) : 0);
    }
    const stat = (sel: (q: number) => boolean): [number, number] => {
      const picked = rr.filter((_, q) => sel(q));
      return [picked.filter((r) => r === 1).length / picked.length, picked.reduce((a, b) => a + b, 0) / picked.length];
    };
    rows.push({
      name,
      overall: stat(() => true),
      js: stat((q) => queries[q]!.language === 'javascript'),
      py: stat((q) => queries[q]!.language === 'python'),
    });
  })();
}
for (const [name, rank] of Object.entries(rankers)) await measure(name, (q) => documents(rank(q)));
await measure(`winnowing baseline (k=${K}, w=${W})`, async (q) => {
  const prints = await fingerprints(queries[q]!.language, queries[q]!.text);
  return docPrints
    .map((d, i) => ({ i, s: [...prints].filter((h) => d.has(h)).length / Math.max(1, prints.size) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, DEPTH)
    .map((x) => x.i);
});

const f = (n: number): string => n.toFixed(3);
console.log(
  `\nmodel ${values.model}; ${corpus.length} functions (${corpus.filter((c) => c.language === 'javascript').length} JavaScript, ${corpus.filter((c) => c.language === 'python').length} Python), ${chunks.length} chunks; ${queries.length} renamed variants`,
);
console.log('| ranking | recall@1 | MRR | recall@1 JS | recall@1 Python |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${f(r.overall[0])} | ${f(r.overall[1])} | ${f(r.js[0])} | ${f(r.py[0])} |`);
console.log(
  `\nload average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
