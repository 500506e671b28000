// The real speech_embedding models (mel + embedding ONNX from the npm tarball) against the
// reference made by test/reference/make-audio-reference.py (WAV read by Python's wave module,
// Python onnxruntime), which shares no code with this path: ffmpeg decodes here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AudioEmbedder, cosineSimilarity, decodeAudio, meanVector } from '../../../../../consumers/embedding/index.ts';
import { ensureAudioModel, type AudioModelFiles } from '../../../../../infra/models/index.ts';
import { AUDIO_MODEL } from '../../../../../topology/media-models.ts';
import { ContractError } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

const UNDECODABLE = errorOf(ContractError, 'media-undecodable');

const SPEECH = fileURLToPath(new URL('../../../../fixtures/media/speech/', import.meta.url));
const REFERENCE = fileURLToPath(new URL('../../../../fixtures/media/speech-reference.json', import.meta.url));

interface SpeechReference {
  clips: { file: string; samples: number; windows: number; mean: number[]; firstWindow: number[]; lastWindow: number[] }[];
}
const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as SpeechReference;
const clip = (file: string): string => join(SPEECH, file);

function ffmpeg(args: string[]): void {
  const result = spawnSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args]);
  assert.equal(result.status, 0, result.stderr.toString());
}

describe('AudioEmbedder (real speech_embedding)', () => {
  let files: AudioModelFiles;
  let embedder: AudioEmbedder;
  let work: string;

  before(async () => {
    files = await ensureAudioModel();
    embedder = await AudioEmbedder.create(files);
    work = mkdtempSync(join(tmpdir(), 'searchbus-audio-'));
  });
  after(async () => {
    await embedder.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('matches the Python reference (windows, first and last window, clip mean) within cosine 0.999', async () => {
    for (const ref of reference.clips) {
      const out = await embedder.embed(clip(ref.file));
      assert.equal(out.windows.length, ref.windows, `${ref.file}: windows`);
      assert.equal(out.vector.length, AUDIO_MODEL.dimension);
      for (const [name, ours, theirs] of [
        ['mean', out.vector, ref.mean],
        ['first window', out.windows[0]!.vector, ref.firstWindow],
        ['last window', out.windows.at(-1)!.vector, ref.lastWindow],
      ] as const) {
        const cosine = cosineSimilarity(ours, theirs);
        assert.ok(cosine >= 0.999, `${ref.file}: ${name} cosine ${cosine}`);
      }
      assert.equal(out.durationSeconds, ref.samples / AUDIO_MODEL.sampleRate);
    }
  });

  it('puts a phrase nearest to the same phrase in another voice', async () => {
    const vectors = new Map<string, Float32Array>();
    for (const ref of reference.clips) vectors.set(ref.file, (await embedder.embed(readFileSync(clip(ref.file)))).vector);
    const phrase = (file: string): string => file.split('-')[0]!;
    const voice = (file: string): string => file.split('-')[1]!;
    const misses: string[] = [];
    // As in the spoken-phrase benchmark: one voice is indexed, the other queries it.
    for (const [query, q] of vectors) {
      const indexed = [...vectors].filter(([file]) => voice(file) !== voice(query));
      const [nearest] = indexed.sort(([, a], [, b]) => cosineSimilarity(q, b) - cosineSimilarity(q, a))[0]!;
      if (phrase(nearest) !== phrase(query)) misses.push(`${query} → ${nearest}`);
    }
    assert.deepEqual(misses, []);
  });

  it('decodes other formats through ffmpeg: FLAC is lossless, MP3 at 8 kHz stays close', async () => {
    const wav = clip(reference.clips[0]!.file);
    const flac = join(work, 'clip.flac');
    const mp3 = join(work, 'clip.mp3');
    ffmpeg(['-i', wav, flac]);
    ffmpeg(['-i', wav, '-ar', '8000', '-b:a', '32k', mp3]);
    const [base, fromFlac, fromMp3] = await Promise.all([embedder.embed(wav), embedder.embed(readFileSync(flac)), embedder.embed(mp3)]);
    assert.ok(cosineSimilarity(base.vector, fromFlac.vector) > 0.99999);
    assert.ok(cosineSimilarity(base.vector, fromMp3.vector) > 0.95, `mp3: ${cosineSimilarity(base.vector, fromMp3.vector)}`);
  });

  it('downmixes stereo and resamples to 16 kHz', async () => {
    const samples = await decodeAudio(clip(reference.clips[0]!.file), { sampleRate: 16_000 });
    const stereo = join(work, 'stereo-44k.wav');
    ffmpeg(['-i', clip(reference.clips[0]!.file), '-ac', '2', '-ar', '44100', stereo]);
    const back = await decodeAudio(stereo, { sampleRate: 16_000 });
    assert.ok(Math.abs(back.length - samples.length) <= 2, `${back.length} vs ${samples.length} samples`);
    const [a, b] = await Promise.all([embedder.embedSamples(samples), embedder.embedSamples(back)]);
    assert.ok(cosineSimilarity(a.vector, b.vector) > 0.99);
  });

  it('cuts a long recording into segments with timestamps, windows every 80 ms', async () => {
    const parts = reference.clips.map((ref) => clip(ref.file));
    const long = join(work, 'long.wav');
    ffmpeg([...parts.flatMap((p) => ['-i', p]), '-filter_complex', `concat=n=${parts.length}:v=0:a=1`, long]);
    const segmented = await AudioEmbedder.create(files, { segmentSeconds: 5 });
    try {
      const out = await segmented.embed(long);
      assert.ok(out.durationSeconds > 18 && out.durationSeconds < 20, `${out.durationSeconds} s`);
      assert.equal(out.segments.length, Math.ceil(out.windows.at(-1)!.startSeconds / 5 + 1e-9));
      out.windows.forEach((w, i) => {
        assert.ok(Math.abs(w.startSeconds - i * 0.08) < 1e-9);
        assert.ok(Math.abs(w.endSeconds - w.startSeconds - 0.782) < 1e-9);
      });
      let previousEnd = 0;
      for (const [i, segment] of out.segments.entries()) {
        assert.ok(segment.startSeconds >= i * 5 && segment.startSeconds < (i + 1) * 5);
        assert.ok(segment.startSeconds >= previousEnd - 0.782);
        previousEnd = segment.endSeconds;
      }
      assert.equal(
        out.segments.reduce((n, s) => n + s.windows, 0),
        out.windows.length,
      );
      // The first segment is the first clip's windows only: the same phrase as that clip.
      const first = await segmented.embed(parts[0]!);
      assert.ok(cosineSimilarity(out.segments[0]!.vector, first.vector) > 0.99);
    } finally {
      await segmented.close();
    }
  });

  it('runs the mel model in chunks without moving the vectors', async () => {
    const chunked = await AudioEmbedder.create(files, { chunkFrames: 100, batchSize: 7 });
    try {
      for (const ref of reference.clips) {
        const [one, many] = await Promise.all([embedder.embed(clip(ref.file)), chunked.embed(clip(ref.file))]);
        assert.equal(many.windows.length, one.windows.length);
        assert.ok(cosineSimilarity(one.vector, many.vector) > 0.9995, `${ref.file}: ${cosineSimilarity(one.vector, many.vector)}`);
      }
    } finally {
      await chunked.close();
    }
  });

  it('pads a clip shorter than one window with silence into one window', async () => {
    const samples = await decodeAudio(clip(reference.clips[0]!.file), { sampleRate: 16_000 });
    const out = await embedder.embedSamples(samples.subarray(0, 4000));
    assert.equal(out.windows.length, 1);
    assert.equal(out.segments.length, 1);
    assert.ok(out.vector.every(Number.isFinite));
  });

  it('refuses undecodable, empty and too long audio with a ContractError `media-undecodable`', async () => {
    await assert.rejects(embedder.embed(Buffer.from('not audio at all')), UNDECODABLE);
    await assert.rejects(embedder.embed(Buffer.alloc(0)), UNDECODABLE);
    const short = await AudioEmbedder.create(files, { maxSeconds: 1 });
    try {
      await assert.rejects(short.embed(clip(reference.clips[0]!.file)), /longer than the 1 s allowed/);
    } finally {
      await short.close();
    }
  });
});

describe('meanVector', () => {
  it('averages then L2-normalises', () => {
    const v = meanVector([Float32Array.from([3, 0]), Float32Array.from([3, 8])], 2);
    assert.deepEqual(Array.from(v), [Math.fround(0.6), Math.fround(0.8)]);
  });
});
