import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSpec } from '../../../../infra/cli/commands/eval.ts';
import { ContractError } from '../../../../topology/index.ts';

describe('eval --compare', () => {
  it('derives the second run from the first by changing the model', () => {
    assert.deepEqual(compareSpec({}, 'bge-small-en-v1.5'), { model: 'bge-small-en-v1.5' });
    assert.deepEqual(compareSpec({ model: 'all-minilm-l6-v2' }, 'all-minilm-l6-v2-q'), { model: 'all-minilm-l6-v2-q' });
  });

  it('derives the second run by changing the mode, keeping the model (so it searches the same index)', () => {
    assert.deepEqual(compareSpec({ mode: 'dense' }, 'hybrid'), { mode: 'hybrid' });
    assert.deepEqual(compareSpec({ model: 'bge-small-en-v1.5', mode: 'hybrid' }, 'sparse'), { model: 'bge-small-en-v1.5', mode: 'sparse' });
  });

  it('refuses what is neither a model nor a mode, naming both lists', () => {
    assert.throws(
      () => compareSpec({}, 'gpt-5'),
      (error: unknown) =>
        error instanceof ContractError && error.code === 'usage' && /model/.test(error.message) && /hybrid/.test(error.message),
    );
  });
});
