import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../topology/index.ts';

describe('SEARCHBUS_SHADOW_SAMPLE_RATE', () => {
  it('defaults to 5% and takes any share from 0 to 1', () => {
    assert.equal(loadConfig({}).reindex.shadowSampleRate, 0.05);
    for (const [raw, value] of [
      ['0', 0],
      ['1', 1],
      ['0.25', 0.25],
      ['.5', 0.5],
      ['1.0', 1],
    ] as const) {
      assert.equal(loadConfig({ SEARCHBUS_SHADOW_SAMPLE_RATE: raw }).reindex.shadowSampleRate, value);
    }
  });

  it('refuses anything else, naming the setting', () => {
    for (const raw of ['-0.1', '1.5', 'half', '5%', '1e-1']) {
      assert.throws(
        () => loadConfig({ SEARCHBUS_SHADOW_SAMPLE_RATE: raw }),
        (error: unknown) => error instanceof ConfigError && error.message.includes('SEARCHBUS_SHADOW_SAMPLE_RATE'),
      );
    }
  });
});
