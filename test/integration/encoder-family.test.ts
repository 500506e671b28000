// The other models of the registry (e5-small-v2 with its "query: "/"passage: " prefixes, and
// bge-small-en-v1.5 with [CLS] pooling and 512 tokens) against reference vectors from
// test/reference/make-reference-vectors.py, which restates prefixes and pooling independently.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { cosineSimilarity, OnnxEncoder } from '../../consumers/embedding/index.ts';
import { ensureModel } from '../../infra/models/index.ts';
import { getModelSpec } from '../../topology/models.ts';

interface Reference {
  maxSeqLength: number;
  pooling: string;
  texts: { name: string; text: string; inputType: 'query' | 'document' | null; input: string; ids: number[]; vector: number[] }[];
}

for (const modelId of ['e5-small-v2', 'bge-small-en-v1.5']) {
  describe(`${modelId} encoder against the independent reference`, () => {
    const spec = getModelSpec(modelId);
    const reference = JSON.parse(readFileSync(new URL(`../fixtures/${modelId}.reference.json`, import.meta.url), 'utf8')) as Reference;
    let encoder: OnnxEncoder;

    before(async () => {
      encoder = await OnnxEncoder.load(spec, await ensureModel(spec), { intraOpNumThreads: 1 });
    });

    after(async () => {
      await encoder?.close();
    });

    it('agrees with the reference on limits, pooling and prefixes', () => {
      assert.equal(spec.maxTokens, reference.maxSeqLength);
      assert.equal(spec.pooling, reference.pooling);
      for (const t of reference.texts) {
        const prefix = t.inputType === 'query' ? spec.queryPrefix : t.inputType === 'document' ? spec.documentPrefix : '';
        assert.equal(prefix + t.text, t.input, `${t.name}: prefix`);
        assert.deepEqual(encoder.tokenizer.encode(t.input, { maxTokens: spec.maxTokens }).ids, t.ids, `${t.name}: ids`);
      }
    });

    it('embeds every text within cosine 0.999 of the reference', async (ctx) => {
      const cosines: number[] = [];
      for (const t of reference.texts) {
        const [vector] = await encoder.embed([t.text], t.inputType ? { inputType: t.inputType } : {});
        const cosine = cosineSimilarity(vector!, t.vector);
        cosines.push(cosine);
        assert.ok(cosine >= 0.999, `${t.name}: cosine ${cosine}`);
      }
      ctx.diagnostic(`${modelId}: min cosine 1 - ${(1 - Math.min(...cosines)).toExponential(2)}`);
    });
  });
}
