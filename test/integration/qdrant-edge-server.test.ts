import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ensureQdrantEdgeVenv } from '../../infra/index.ts';
import { runCommand } from '../../infra/local/run-command.ts';

const TESTS = fileURLToPath(new URL('../../infra/qdrant-edge/tests', import.meta.url));

// The Edge server's own process-level tests (restart persistence after SIGTERM and SIGKILL, port
// and storage conflicts, API key), run with the server's pinned Python environment.
describe('Qdrant Edge server process', () => {
  it('passes its Python test suite', async () => {
    const python = await ensureQdrantEdgeVenv();
    const result = await runCommand(python, ['-m', 'unittest', 'discover', '-s', TESTS, '-v']);
    const ran = Number(/Ran (\d+) tests?/.exec(result.output)?.[1] ?? 0);
    assert.equal(result.code, 0, result.output.slice(-3000));
    assert.ok(ran >= 10, `ran ${ran} tests`);
    assert.match(result.output, /\nOK/);
  });
});
