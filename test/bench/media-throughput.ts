// Items per second of each modality's encoding, measured side by side in one process with the load
// average stamped: the figures behind running text and media in separate consumer groups.
// Run: node --import tsx test/bench/media-throughput.ts
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentEncoder } from '../../consumers/embedding/index.ts';
import { cachedMediaEncoder } from '../../infra/models/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { AUDIO_MODEL, getModelSpec, DEFAULT_MODEL_ID, IMAGE_MODEL } from '../../topology/index.ts';
import { readScifact } from '../support/corpus.ts';
import { makeVideoFixture, SCENE_SECONDS, VIDEO_SCENES } from '../support/video-fixture.ts';

const fixtures = new URL('../fixtures/media/', import.meta.url);
const photos = await Promise.all(
  ['dogs', 'ladybird', 'mountain', 'paintbrushes', 'stream', 'yellow-flower'].map((p) => readFile(new URL(`photos/${p}.jpg`, fixtures))),
);
const clips = await Promise.all([1, 2, 3].map((p) => readFile(new URL(`speech/phrase${p}-voice1.wav`, fixtures))));
const texts = (await readScifact(96)).map((d) => `${d.title} ${d.text}`);
const scratch = await mkdtemp(join(tmpdir(), 'searchbus-bench-video-'));
await makeVideoFixture(join(scratch, 'clip.mp4'));
const video = await readFile(join(scratch, 'clip.mp4'));
const videoSeconds = SCENE_SECONDS * VIDEO_SCENES.length;

const onnx = await loadEncoder(getModelSpec(DEFAULT_MODEL_ID));
const text = documentEncoder(onnx);
const media = cachedMediaEncoder({ fetchMaxBytes: 1 << 26, fetchTimeoutMs: 10_000, fileRoots: [] }); // inline media only

async function rate(label: string, items: number, run: () => Promise<unknown>): Promise<{ label: string; perSecond: number }> {
  await run(); // warm-up
  const started = performance.now();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) await run();
  const seconds = (performance.now() - started) / 1000;
  return { label, perSecond: (items * rounds) / seconds };
}

const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const results = [
  await rate(`text documents (SciFact, ${DEFAULT_MODEL_ID}, chunked)`, texts.length, () => text.encodeDocuments(texts)),
  await rate(`images (${IMAGE_MODEL.id}, 400 px JPEG: decode + resize + embed)`, photos.length * 4, async () => {
    for (let i = 0; i < 4; i++) for (const p of photos) await media.embed('image', IMAGE_MODEL, p);
  }),
  await rate(`audio clips (${AUDIO_MODEL.id}, ~3 s WAV: ffmpeg + mel + embed)`, clips.length * 2, async () => {
    for (let i = 0; i < 2; i++) for (const c of clips) await media.embed('audio', AUDIO_MODEL, c);
  }),
  await rate(`videos (${videoSeconds} s MP4 480x320: ffprobe + ffmpeg, ${videoSeconds} frames, audio track)`, 2, async () => {
    for (let i = 0; i < 2; i++) await media.embedVideo({ image: IMAGE_MODEL, audio: AUDIO_MODEL }, video);
  }),
];
await rm(scratch, { recursive: true, force: true });
await media.close();
process.stdout.write(
  `load average at start: ${load}; after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
for (const r of results) process.stdout.write(`${r.label.padEnd(70)} ${r.perSecond.toFixed(1)} items/s\n`);
await onnx.close();
