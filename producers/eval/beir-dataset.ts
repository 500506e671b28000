import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SearchbusError } from '../../topology/index.ts';
import type { Judgements } from '../../consumers/quality/index.ts';

/** The queries of one split of a BEIR folder and their judgements. */
export interface BeirSplit {
  split: string;
  /** Only queries that have judgements in this split, in qrels order. */
  queries: Array<{ id: string; text: string }>;
  qrels: Map<string, Map<string, number>>;
}

export class BeirFormatError extends SearchbusError {
  override readonly name = 'BeirFormatError';
  override readonly retriable = false;
  override readonly code: string = 'beir-format';
}

/** Reads `queries.jsonl` and `qrels/<split>.tsv` (header `query-id corpus-id score`). */
export async function loadBeirSplit(dir: string, split: string): Promise<BeirSplit> {
  const qrelsPath = join(dir, 'qrels', `${split}.tsv`);
  const queriesPath = join(dir, 'queries.jsonl');
  for (const path of [qrelsPath, queriesPath, join(dir, 'corpus.jsonl')]) {
    if (!existsSync(path)) throw new BeirFormatError(`${path} is missing; a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv`);
  }
  const qrels = new Map<string, Map<string, number>>();
  let lineNumber = 0;
  for await (const line of lines(qrelsPath)) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    const [queryId, docId, score] = line.split('\t');
    if (lineNumber === 1 && queryId === 'query-id') continue;
    const grade = Number(score);
    if (!queryId || !docId || score === undefined || !Number.isFinite(grade)) {
      throw new BeirFormatError(`${qrelsPath}:${lineNumber}: expected "query-id<TAB>corpus-id<TAB>score"`);
    }
    let judged = qrels.get(queryId);
    if (!judged) qrels.set(queryId, (judged = new Map<string, number>()));
    judged.set(docId, grade);
  }
  const texts = new Map<string, string>();
  lineNumber = 0;
  for await (const line of lines(queriesPath)) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new BeirFormatError(`${queriesPath}:${lineNumber}: ${(error as Error).message}`);
    }
    const { _id, text } = (parsed ?? {}) as { _id?: unknown; text?: unknown };
    if ((typeof _id !== 'string' && typeof _id !== 'number') || typeof text !== 'string') {
      throw new BeirFormatError(`${queriesPath}:${lineNumber}: expected {"_id": …, "text": …}`);
    }
    texts.set(String(_id), text);
  }
  const queries = [...qrels.keys()].map((id) => {
    const text = texts.get(id);
    if (text === undefined) throw new BeirFormatError(`query ${id} of qrels/${split}.tsv is not in queries.jsonl`);
    return { id, text };
  });
  return { split, queries, qrels };
}

export function judgementsOf(split: BeirSplit, queryId: string): Judgements {
  return split.qrels.get(queryId) ?? new Map<string, number>();
}

function lines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
}
