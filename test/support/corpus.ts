import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/**
 * The trimmed BEIR SciFact subset committed with the tests (1,000 abstracts, 200 judged queries;
 * see test/fixtures/scifact/README.md). Tests read only this; benchmarks take another BEIR
 * directory with `--dataset`.
 */
export const SCIFACT_DIR = fileURLToPath(new URL('../fixtures/scifact/', import.meta.url));

export interface CorpusDoc {
  id: string;
  title: string;
  text: string;
}

/** The first `limit` documents of a BEIR corpus, in file order. */
export async function readScifact(limit = Infinity, dir = SCIFACT_DIR): Promise<CorpusDoc[]> {
  const docs: CorpusDoc[] = [];
  if (limit <= 0) return docs;
  const lines = createInterface({ input: createReadStream(join(dir, 'corpus.jsonl'), 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const raw = JSON.parse(line) as { _id: string; title: string; text: string };
    docs.push({ id: raw._id, title: raw.title, text: raw.text });
    if (docs.length >= limit) break;
  }
  return docs;
}

/** The texts of the first `limit` queries of a BEIR queries.jsonl, in file order. */
export async function readScifactQueries(limit = Infinity, dir = SCIFACT_DIR): Promise<string[]> {
  const lines = (await readFile(join(dir, 'queries.jsonl'), 'utf8')).split('\n').filter((l) => l.trim());
  return lines.slice(0, limit).map((l) => (JSON.parse(l) as { text: string }).text);
}
