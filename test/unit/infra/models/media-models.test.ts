// The media models' fetch: the pins are enforced on what the registry gives (npm tarball, the
// files in it) and on what the conversion writes, and a complete install is reused as it is.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureAudioModel, ensureImageModel, MediaModelIntegrityError, sha256File } from '../../../../infra/models/index.ts';
import { AUDIO_MODEL, IMAGE_MODEL } from '../../../../topology/media-models.ts';

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
      await assert.rejects(ensureAudioModel({ modelsDir: dir }, { ...AUDIO_MODEL, tarballSha256: WRONG }), MediaModelIntegrityError);
      const badFile = { ...AUDIO_MODEL, files: { ...AUDIO_MODEL.files, embedding: { ...AUDIO_MODEL.files.embedding, sha256: WRONG } } };
      await assert.rejects(ensureAudioModel({ modelsDir: dir }, badFile), (error: unknown) => {
        assert.ok(error instanceof MediaModelIntegrityError);
        assert.equal(error.file, 'embedding_model.onnx');
        return true;
      });
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
        assert.ok(error instanceof MediaModelIntegrityError);
        assert.equal(error.actualSha256, IMAGE_MODEL.onnxSha256, 'the conversion is deterministic: it wrote the pinned bytes');
        return true;
      });
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
