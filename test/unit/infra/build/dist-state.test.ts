import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { distState, STAMP } from '../../../../infra/build/dist-state.mjs';

// A fake checkout: sources and a stamp whose build started at BUILT_AT.
const BUILT_AT = Date.parse('2026-01-01T12:00:00Z');
const seconds = (ms: number): number => ms / 1000;

describe('distState', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'searchbus-dist-state-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function file(path: string, modifiedAtMs: number): Promise<void> {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, 'x');
    await utimes(full, seconds(modifiedAtMs), seconds(modifiedAtMs));
  }

  it('is missing without a stamp', async () => {
    await file('infra/cli/main.ts', BUILT_AT - 60_000);
    assert.equal(distState(root), 'missing');
  });

  it('is fresh when every source is older than the start of the build', async () => {
    await file('package.json', BUILT_AT - 60_000);
    await file('infra/qdrant-edge/server.py', BUILT_AT - 60_000);
    await mkdir(join(root, 'dist'), { recursive: true });
    await writeFile(join(root, STAMP), JSON.stringify({ startedAtMs: BUILT_AT }));
    assert.equal(distState(root), 'fresh');
  });

  it('ignores what the build neither compiles nor copies', async () => {
    await file('infra/qdrant-edge/__pycache__/server.cpython-313.pyc', BUILT_AT + 60_000);
    await file('infra/qdrant-edge/tests/test_server.py', BUILT_AT + 60_000);
    await file('test/unit/x.test.ts', BUILT_AT + 60_000);
    assert.equal(distState(root), 'fresh');
  });

  it('is stale once a source changed after the build started, even while it ran', async () => {
    await file('consumers/embedding/text/onnx-encoder.ts', BUILT_AT + 1_000);
    assert.equal(distState(root), 'stale');
  });

  it('is stale when package.json changed', async () => {
    await file('consumers/embedding/text/onnx-encoder.ts', BUILT_AT - 1_000);
    assert.equal(distState(root), 'fresh');
    await file('package.json', BUILT_AT + 1_000);
    assert.equal(distState(root), 'stale');
  });

  it('treats an unreadable stamp as missing', async () => {
    await writeFile(join(root, STAMP), '{"startedAtMs":');
    assert.equal(distState(root), 'missing');
  });
});
