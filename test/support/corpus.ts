import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** The shared BEIR SciFact set, read in place (never copied into the repo). */
export const SCIFACT_DIR = fileURLToPath(new URL('../../../shared/data/scifact-train/', import.meta.url));

export interface CorpusDoc {
  id: string;
  title: string;
  text: string;
}

export async function readScifact(limit = Infinity): Promise<CorpusDoc[]> {
  const docs: CorpusDoc[] = [];
  const lines = createInterface({ input: createReadStream(`${SCIFACT_DIR}corpus.jsonl`, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const raw = JSON.parse(line) as { _id: string; title: string; text: string };
    docs.push({ id: raw._id, title: raw.title, text: raw.text });
    if (docs.length >= limit) break;
  }
  return docs;
}
