import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, SETTINGS } from '../../../topology/index.ts';
import { DEFAULT_ENCODER_GRAPH, DEFAULT_INT8_SOURCE, DERIVED_MODEL_PINS } from '../../../topology/model-variants.ts';
import { listModelSpecs } from '../../../topology/models.ts';

describe('encoder model variants', () => {
  it('pins both derived files of every fp32 registry model, and only of those', () => {
    const fp32 = listModelSpecs()
      .filter((spec) => !spec.quantized)
      .map((spec) => spec.id);
    assert.deepEqual(Object.keys(DERIVED_MODEL_PINS).sort(), [...fp32].sort());
    for (const [id, pins] of Object.entries(DERIVED_MODEL_PINS)) {
      for (const [kind, pin] of Object.entries(pins)) {
        assert.match(pin.sha256, /^[0-9a-f]{64}$/, `${id} ${kind}`);
        assert.ok(Number.isInteger(pin.bytes) && pin.bytes > 1_000_000, `${id} ${kind}: ${pin.bytes} bytes`);
      }
      assert.notEqual(pins.optimized.sha256, pins['int8-per-channel'].sha256);
    }
  });

  it('defaults to the measured winners, each selectable by its setting', () => {
    const config = loadConfig({});
    assert.equal(config.encoder.graph, DEFAULT_ENCODER_GRAPH);
    assert.equal(config.encoder.int8Source, DEFAULT_INT8_SOURCE);
    const chosen = loadConfig({ [SETTINGS.encoderGraph]: 'optimized', [SETTINGS.int8Source]: 'registry' });
    assert.equal(chosen.encoder.graph, 'optimized');
    assert.equal(chosen.encoder.int8Source, 'registry');
    assert.equal(loadConfig({ [SETTINGS.encoderGraph]: ' stock ' }).encoder.graph, 'stock');
  });

  it('refuses an unknown value, naming the setting', () => {
    assert.throws(
      () => loadConfig({ [SETTINGS.encoderGraph]: 'fast' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /SEARCHBUS_ENCODER_GRAPH/);
        assert.match(error.message, /stock, optimized/);
        return true;
      },
    );
    assert.throws(() => loadConfig({ [SETTINGS.int8Source]: 'per-tensor' }), /SEARCHBUS_INT8_SOURCE/);
  });
});
