// Video: ffprobe/ffmpeg output parsing and the frame/audio timeline (pure), then the real path on a
// video generated from the photo and speech fixtures: ffmpeg samples its frames with their times,
// EfficientNet-Lite0 embeds them and each frame is nearest the photo shown at that moment.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  cosineSimilarity,
  parseProbe,
  parseShowinfoTimes,
  probeVideo,
  sampleFrames,
  samplingIntervalSeconds,
  videoTimeline,
  type MediaEncoder,
} from '../../../../../consumers/embedding/index.ts';
import { cachedMediaEncoder } from '../../../../../infra/models/index.ts';
import { AUDIO_MODEL, IMAGE_MODEL } from '../../../../../topology/media-models.ts';
import { makeVideoFixture, SCENE_SECONDS, VIDEO_SCENES } from '../../../../support/video-fixture.ts';
import { ContractError } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

const UNDECODABLE = errorOf(ContractError, 'media-undecodable');

const FIXTURES = new URL('../../../../fixtures/media/', import.meta.url);
const v = (x: number): Float32Array => new Float32Array([x]);

describe('video parsing and timeline', () => {
  it('reads the time of each frame showinfo passed, even after a progress line', () => {
    const stderr = [
      '[Parsed_showinfo_1 @ 0x55] config in time_base: 1/10240, frame_rate: 10/1',
      '[Parsed_showinfo_1 @ 0x55] n:   0 pts:      0 pts_time:0       pos:      534 fmt:yuv420p',
      'frame=    1 fps=0.0 q=0.0 size=N/A speed=   0x    [Parsed_showinfo_1 @ 0x55] n:   1 pts:  10240 pts_time:1       pos: 1',
      '[Parsed_showinfo_1 @ 0x55] color_range:unknown',
      '[Parsed_showinfo_1 @ 0x55] n:   2 pts:  25600 pts_time:2.5     pos: 2',
    ].join('\n');
    assert.deepEqual(parseShowinfoTimes(stderr), [0, 1, 2.5]);
    assert.throws(() => parseShowinfoTimes('n:   1 pts:  10 pts_time:1'), UNDECODABLE);
  });

  it('reads the duration and streams ffprobe reports', () => {
    assert.deepEqual(parseProbe('{"streams":[{"codec_type":"video"},{"codec_type":"audio"}],"format":{"duration":"6.016000"}}'), {
      durationSeconds: 6.016,
      hasVideo: true,
      hasAudio: true,
    });
    assert.deepEqual(parseProbe('{"streams":[{"codec_type":"audio"}],"format":{}}'), {
      durationSeconds: NaN,
      hasVideo: false,
      hasAudio: true,
    });
    assert.throws(() => parseProbe('not json'), UNDECODABLE);
  });

  it('stretches the interval so a long video stays within the frame limit', () => {
    assert.equal(samplingIntervalSeconds(6, { intervalMs: 1000, maxFrames: 300 }), 1);
    assert.equal(samplingIntervalSeconds(3600, { intervalMs: 1000, maxFrames: 300 }), 12);
    assert.equal(samplingIntervalSeconds(NaN, { intervalMs: 500, maxFrames: 3 }), 0.5);
  });

  it('puts an audio segment on the frame nearest its start when close enough, else on a point of its own, in time order', () => {
    const frames = [2, 0, 1].map((at) => ({ atSeconds: at, vector: v(at) }));
    const audio = [0.08, 0.3, 1.6, 10].map((at) => ({ atSeconds: at, vector: v(100 + at) }));
    const timeline = videoTimeline(frames, audio);
    assert.deepEqual(
      timeline.map((p) => [p.atSeconds, p.image?.[0], p.audio?.[0]]),
      [
        [0, 0, Math.fround(100.08)],
        // The first frame already has audio: the next segment becomes its own moment.
        [0.3, undefined, Math.fround(100.3)],
        [1, 1, undefined],
        // 0.4 s from the frame at 2 s: within half the frame spacing, so it joins that frame.
        [2, 2, Math.fround(101.6)],
        [10, undefined, 110],
      ],
    );
    assert.deepEqual(videoTimeline([{ atSeconds: 0, vector: v(1) }], []), [{ atSeconds: 0, image: v(1) }]);
  });
});

describe('video frames and embeddings (real ffmpeg and EfficientNet-Lite0)', () => {
  let dir: string;
  let scratch: string;
  let media: MediaEncoder;
  let clip: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'searchbus-video-test-'));
    scratch = join(dir, 'scratch');
    await mkdir(scratch);
    clip = join(dir, 'clip.mp4');
    await makeVideoFixture(clip);
    media = cachedMediaEncoder({
      fetchMaxBytes: 1 << 26,
      fetchTimeoutMs: 10_000,
      fileRoots: [],
      video: { intervalMs: 1000, maxFrames: 300 },
      scratchDir: scratch,
    });
  });

  after(async () => {
    await media?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('samples a frame every interval, with its presentation time, and at most the frame limit', async () => {
    const probe = await probeVideo(clip);
    assert.equal(probe.hasVideo, true);
    assert.equal(probe.hasAudio, true);
    assert.ok(Math.abs(probe.durationSeconds - SCENE_SECONDS * VIDEO_SCENES.length) < 0.1, String(probe.durationSeconds));
    await mkdir(join(dir, 'every-second'));
    const frames = await sampleFrames(clip, join(dir, 'every-second'), probe, { intervalMs: 1000, maxFrames: 300 });
    assert.deepEqual(
      frames.map((f) => f.atSeconds),
      [0, 1, 2, 3, 4, 5],
    );
    await mkdir(join(dir, 'limited'));
    const limited = await sampleFrames(clip, join(dir, 'limited'), probe, { intervalMs: 100, maxFrames: 3 });
    assert.deepEqual(
      limited.map((f) => f.atSeconds),
      [0, 2, 4],
    );
  });

  it('embeds each sampled frame nearest the photo on screen at its time, and the audio track by segment', async () => {
    const video = await media.embedVideo({ image: IMAGE_MODEL, audio: AUDIO_MODEL }, await readFile(clip));
    const photos = await Promise.all(
      VIDEO_SCENES.map(async (scene) => media.embed('image', IMAGE_MODEL, await readFile(new URL(`photos/${scene}.jpg`, FIXTURES)))),
    );
    const nearest = video.frames.map((frame) => {
      const scores = photos.map((photo) => cosineSimilarity(frame.vector, photo));
      return VIDEO_SCENES[scores.indexOf(Math.max(...scores))];
    });
    assert.deepEqual(nearest, ['mountain', 'mountain', 'ladybird', 'ladybird', 'paintbrushes', 'paintbrushes']);
    // Six seconds of track: one segment (segments are 10 s), from its start.
    assert.equal(video.audio.length, 1);
    assert.ok(video.audio[0]!.atSeconds < 0.1);
    assert.equal(video.audio[0]!.vector.length, AUDIO_MODEL.dimension);
  });

  it('embeds a WebM without an audio track as frames only', async () => {
    const webm = join(dir, 'silent.webm');
    await makeVideoFixture(webm, { container: 'webm', speech: false });
    const video = await media.embedVideo({ image: IMAGE_MODEL, audio: AUDIO_MODEL }, await readFile(webm));
    assert.equal(video.frames.length, 6);
    assert.deepEqual(video.audio, []);
  });

  it('refuses what is not a video with a ContractError `media-undecodable`, and leaves no scratch files', async () => {
    await assert.rejects(media.embedVideo({ image: IMAGE_MODEL, audio: null }, Buffer.from('not a video at all')), UNDECODABLE);
    const wav = await readFile(new URL('speech/phrase1-voice1.wav', FIXTURES));
    await assert.rejects(media.embedVideo({ image: IMAGE_MODEL, audio: null }, wav), /no video stream/);
    assert.deepEqual(await readdir(scratch), [], 'every video scratch directory is removed, success or failure');
  });
});
