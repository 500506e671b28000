// Chunks per document and characters per chunk of a BEIR corpus under each model's window, as the
// encoder cuts them (default overlap), without running a model: the figures behind the README's
// memory per document. Needs the models' tokenizers in the cache (`searchbus setup`, and the
// first use of a model fetches it).
//
//   node --import tsx test/bench/chunks-per-document.ts [--dataset <beir-dir>]
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chunkTokens, DEFAULT_OVERLAP_TOKENS, WordPieceTokenizer } from '../../consumers/embedding/index.ts';
import { documentText } from '../../consumers/encoder/index.ts';
import { cacheDir } from '../../infra/index.ts';
import { getModelSpec } from '../../topology/index.ts';

const { values } = parseArgs({
  options: { dataset: { type: 'string', default: new URL('../fixtures/scifact', import.meta.url).pathname } },
});
const lines = (await readFile(join(values.dataset, 'corpus.jsonl'), 'utf8')).split('\n').filter(Boolean);
const texts = lines.map((l) => documentText(JSON.parse(l) as { title?: string; text?: string }));

for (const id of ['all-minilm-l6-v2', 'e5-small-v2', 'bge-small-en-v1.5']) {
  const spec = getModelSpec(id);
  const tokenizer = await WordPieceTokenizer.fromFile(cacheDir('models', id, spec.files.tokenizer));
  const prefixIds = spec.documentPrefix ? tokenizer.tokenize(spec.documentPrefix).ids : [];
  let chunks = 0;
  const lengths: number[] = [];
  for (const text of texts) {
    const cut = chunkTokens(tokenizer.tokenize(text), {
      maxTokens: spec.maxTokens,
      overlapTokens: DEFAULT_OVERLAP_TOKENS,
      clsId: tokenizer.clsId,
      sepId: tokenizer.sepId,
      prefixIds,
    });
    chunks += cut.length;
    for (const c of cut) lengths.push(c.text.length);
  }
  lengths.sort((a, b) => a - b);
  const median = lengths[Math.floor(lengths.length / 2)] ?? 0;
  console.log(
    `${id}: ${texts.length} documents, ${chunks} chunks, ${(chunks / texts.length).toFixed(2)} chunks/document, median chunk ${median} characters`,
  );
}
