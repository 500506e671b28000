import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newClusterId } from '../../../infra/local/kafka-process.ts';

describe('newClusterId', () => {
  it('is 22 URL-safe base64 characters and never reads as a command-line option', () => {
    for (let i = 0; i < 5000; i++) {
      const id = newClusterId();
      assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
