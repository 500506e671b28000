import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { loadConfig } from '../../topology/index.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// Natural-language questions in hybrid mode on the demo corpus, whose answers share meaning with
// the questions but hardly a word. With the first analyzer (no "does", "why" in its stop list) and
// equal-weight RRF at k 60, a document sharing one rare word with a question (or the word "does")
// fused level with, or above, the dense top hit: 4 of the 5 sample questions got a wrong first hit.
// The defaults (analyzer en-porter-v2, RRF k 2 with the sparse list at half weight) must answer all
// five as dense search does, and the old settings, on the same services, must still show the bug.

const SAMPLE_CORPUS = fileURLToPath(new URL('../../infra/demo/sample-corpus.jsonl', import.meta.url));
const SAMPLE_QUERIES = fileURLToPath(new URL('../../infra/demo/sample-queries.json', import.meta.url));
const OLD_SETTINGS = { SEARCHBUS_SPARSE_ANALYZER: 'en-porter-v1', SEARCHBUS_QUERY_RRF_K: '60', SEARCHBUS_QUERY_SPARSE_WEIGHT: '1' };

describe('hybrid search of natural-language questions (demo corpus)', () => {
  let encoder: OnnxEncoder;
  let questions: Array<{ query: string; expect: string }>;
  let docs: DocumentInput[];
  const stacks: Array<{ h: Harness; stack: QueryStack }> = [];

  async function indexed(env: Record<string, string>): Promise<QueryStack> {
    const h = await createHarness({ env });
    await indexThroughBus(h, encoder, docs);
    const stack = await startQueryStack(h, [encoder]);
    stacks.push({ h, stack });
    return stack;
  }

  async function firstHits(stack: QueryStack, mode: 'dense' | 'hybrid'): Promise<string[]> {
    const firsts: string[] = [];
    for (const { query } of questions) {
      const result = await stack.client.search({ text: query, topK: 10, mode });
      assert.equal(result.mode, mode);
      firsts.push(result.hits[0]?.docId ?? '(none)');
    }
    return firsts;
  }

  before(async () => {
    questions = JSON.parse(await readFile(SAMPLE_QUERIES, 'utf8')) as typeof questions;
    docs = (await readFile(SAMPLE_CORPUS, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as DocumentInput);
    encoder = await loadEncoder(loadConfig({ SEARCHBUS_MODEL: 'all-minilm-l6-v2' }).model);
  });

  after(async () => {
    for (const { h, stack } of stacks) {
      await stack.close();
      await h.close();
    }
    await encoder?.close();
  });

  it('answers every sample question with its expected document first, in hybrid mode as in dense mode', async () => {
    const stack = await indexed({});
    const expected = questions.map((q) => q.expect);
    assert.deepEqual(await firstHits(stack, 'dense'), expected, 'dense');
    assert.deepEqual(await firstHits(stack, 'hybrid'), expected, 'hybrid with the default analyzer and fusion');
  });

  it('got some of them wrong with the first analyzer and equal-weight RRF at k 60 (the bug this guards against)', async () => {
    const stack = await indexed(OLD_SETTINGS);
    const firsts = await firstHits(stack, 'hybrid');
    const wrong = questions.filter((q, i) => firsts[i] !== q.expect);
    process.stderr.write(`old settings, hybrid: ${wrong.length} of ${questions.length} first hits wrong (${firsts.join(', ')})\n`);
    assert.ok(wrong.length >= 2, `expected the old settings to get at least 2 of 5 wrong, got first hits ${firsts.join(', ')}`);
  });
});
