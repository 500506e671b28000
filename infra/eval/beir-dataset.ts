import { createReadStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ContractError } from '../../topology/index.ts';
import type { EvalSet, Judgements } from '../../consumers/quality/index.ts';

/** The queries of one split of a BEIR folder and their judgements. */
export interface BeirSplit {
  split: string;
  /** Only queries that have judgements in this split, in qrels order. */
  queries: Array<{ id: string; text: string }>;
  qrels: Map<string, Map<string, number>>;
}

/** Reads `queries.jsonl` and `qrels/<split>.tsv` (header `query-id corpus-id score`). */
export async function loadBeirSplit(dir: string, split: string): Promise<BeirSplit> {
  const qrelsPath = join(dir, 'qrels', `${split}.tsv`);
  const queriesPath = join(dir, 'queries.jsonl');
  for (const path of [qrelsPath, queriesPath, join(dir, 'corpus.jsonl')]) {
    if (!existsSync(path))
      throw new ContractError('beir-format', `${path} is missing; a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv`);
  }
  return parseBeirSplit(split, { lines: lines(qrelsPath), source: qrelsPath }, { lines: lines(queriesPath), source: queriesPath });
}

/** Lines of one BEIR file and what to call it in error messages. */
export interface BeirLines {
  lines: Iterable<string> | AsyncIterable<string>;
  source: string;
}

/**
 * The judged queries of a split from the lines of its qrels TSV and of `queries.jsonl`, wherever
 * they come from (files, or an upload to the gateway).
 */
export async function parseBeirSplit(split: string, qrelsFile: BeirLines, queriesFile: BeirLines): Promise<BeirSplit> {
  const qrels = new Map<string, Map<string, number>>();
  let lineNumber = 0;
  for await (const line of qrelsFile.lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    const [queryId, docId, score] = line.replace(/\r$/, '').split('\t');
    if (lineNumber === 1 && queryId === 'query-id') continue;
    const grade = Number(score);
    if (!queryId || !docId || score === undefined || !Number.isFinite(grade)) {
      throw new ContractError('beir-format', `${qrelsFile.source}:${lineNumber}: expected "query-id<TAB>corpus-id<TAB>score"`);
    }
    let judged = qrels.get(queryId);
    if (!judged) qrels.set(queryId, (judged = new Map<string, number>()));
    judged.set(docId, grade);
  }
  const texts = new Map<string, string>();
  lineNumber = 0;
  for await (const line of queriesFile.lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new ContractError('beir-format', `${queriesFile.source}:${lineNumber}: ${(error as Error).message}`);
    }
    const { _id, text } = (parsed ?? {}) as { _id?: unknown; text?: unknown };
    if ((typeof _id !== 'string' && typeof _id !== 'number') || typeof text !== 'string') {
      throw new ContractError('beir-format', `${queriesFile.source}:${lineNumber}: expected {"_id": …, "text": …}`);
    }
    texts.set(String(_id), text);
  }
  const queries = [...qrels.keys()].map((id) => {
    const text = texts.get(id);
    if (text === undefined) throw new ContractError('beir-format', `query ${id} of ${qrelsFile.source} is not in ${queriesFile.source}`);
    return { id, text };
  });
  return { split, queries, qrels };
}

/** A split's judged queries as an eval set of `tenant` (the corpus stays where it was ingested). */
export function toEvalSet(name: string, tenant: string, source: string, split: BeirSplit): EvalSet {
  const qrels: EvalSet['qrels'] = {};
  for (const [queryId, judged] of split.qrels) qrels[queryId] = Object.fromEntries(judged);
  return { name, tenant, split: split.split, source, addedAt: new Date().toISOString(), queries: split.queries, qrels };
}

/** Reads the judged queries of a BEIR folder's split into a set of `tenant`. */
export async function readEvalSet(name: string, dir: string, split: string, tenant: string): Promise<EvalSet> {
  return toEvalSet(name, tenant, resolve(dir), await loadBeirSplit(dir, split));
}

export function judgementsOf(split: BeirSplit, queryId: string): Judgements {
  return split.qrels.get(queryId) ?? new Map<string, number>();
}

// A generator, so the file is opened only when it is read: readline drops lines it reads before
// its iterator is taken.
async function* lines(path: string): AsyncIterable<string> {
  yield* createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
}
