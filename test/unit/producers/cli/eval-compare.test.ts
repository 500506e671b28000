import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSpec } from '../../../../producers/cli/search-commands.ts';
import { UsageError } from '../../../../producers/cli/usage-error.ts';

describe('eval --compare', () => {
  it('derives the second run from the first by changing the model', () => {
    assert.deepEqual(compareSpec({}, 'bge-small-en-v1.5'), { model: 'bge-small-en-v1.5' });
    assert.deepEqual(compareSpec({ model: 'all-minilm-l6-v2' }, 'all-minilm-l6-v2-q'), { model: 'all-minilm-l6-v2-q' });
  });

  it('says a mode comparison needs per-request modes, and refuses anything else', () => {
    assert.throws(() => compareSpec({}, 'hybrid'), (error: unknown) => error instanceof UsageError && /mode/.test(error.message));
    assert.throws(() => compareSpec({}, 'gpt-5'), UsageError);
  });
});
