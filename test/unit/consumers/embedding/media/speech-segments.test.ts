// Voice activity on synthetic energy envelopes (one value per 30 ms frame, dBFS) and on samples.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SEGMENT_OPTIONS, energyEnvelope, speechSegments } from '../../../../../consumers/embedding/index.ts';

const FRAME_MS = DEFAULT_SEGMENT_OPTIONS.frameMs;
// Padding is a whole number of frames.
const PAD_MS = Math.round(DEFAULT_SEGMENT_OPTIONS.padMs / FRAME_MS) * FRAME_MS;

/** An envelope of `ms` of each level in turn: [[-70, 1000], [-20, 1500]] is a second of quiet then 1.5 s of speech. */
function envelope(parts: ReadonlyArray<[db: number, ms: number]>): Float32Array {
  return Float32Array.from(parts.flatMap(([db, ms]) => Array.from({ length: Math.round(ms / FRAME_MS) }, () => db)));
}

describe('speechSegments', () => {
  it('finds nothing in silence or in steady noise of any level', () => {
    assert.deepEqual(speechSegments(envelope([[-120, 5000]])), []);
    assert.deepEqual(speechSegments(envelope([[-60, 5000]])), []);
    assert.deepEqual(speechSegments(envelope([[-15, 5000]])), []);
    assert.deepEqual(speechSegments(new Float32Array(0)), []);
  });

  it('finds each utterance with its padding, and bridges the short pauses between words', () => {
    const segments = speechSegments(
      envelope([
        [-70, 990],
        [-20, 600],
        [-70, 210], // a pause between words: bridged
        [-22, 900],
        [-70, 1500],
        [-25, 1200],
        [-70, 990],
      ]),
    );
    assert.deepEqual(segments, [
      { startMs: 990 - PAD_MS, endMs: 990 + 600 + 210 + 900 + PAD_MS },
      { startMs: 4200 - PAD_MS, endMs: 4200 + 1200 + PAD_MS },
    ]);
  });

  it('follows the noise floor: speech 20 dB above loud noise is found, noise alone is not', () => {
    assert.deepEqual(
      speechSegments(
        envelope([
          [-30, 1500],
          [-10, 900],
          [-30, 1500],
        ]),
      ),
      [{ startMs: 1500 - PAD_MS, endMs: 2400 + PAD_MS }],
    );
  });

  it('drops clicks shorter than the shortest speech', () => {
    assert.deepEqual(
      speechSegments(
        envelope([
          [-70, 1500],
          [-10, 90],
          [-70, 1500],
        ]),
      ),
      [],
    );
  });

  it("cuts a long utterance into pieces no longer than the model's window, at its quietest frames", () => {
    const options = { ...DEFAULT_SEGMENT_OPTIONS, maxSegmentMs: 3000 };
    const speech = envelope([
      [-70, 990],
      [-20, 2010],
      [-32, 90], // a dip, too short to be a pause, where the first cut belongs
      [-20, 1800],
      [-70, 990],
    ]);
    const segments = speechSegments(speech, options);
    assert.ok(segments.length >= 2, JSON.stringify(segments));
    for (const s of segments) assert.ok(s.endMs - s.startMs <= 3000, JSON.stringify(segments));
    assert.equal(segments[0]!.startMs, 990 - PAD_MS);
    assert.equal(segments[0]!.endMs, 990 + 2010 + FRAME_MS, 'the cut is at the first frame of the dip');
    for (let i = 1; i < segments.length; i++) assert.equal(segments[i]!.startMs, segments[i - 1]!.endMs, 'pieces are contiguous');
    assert.equal(segments[segments.length - 1]!.endMs, 990 + 2010 + 90 + 1800 + PAD_MS);
  });
});

describe('energyEnvelope', () => {
  it('gives a full-scale square wave 0 dB, a half-scale one about -6 dB, and digital silence the floor', () => {
    const frame = 480;
    const samples = new Float32Array(3 * frame + 100);
    for (let i = 0; i < frame; i++) samples[i] = i % 2 ? 1 : -1;
    for (let i = frame; i < 2 * frame; i++) samples[i] = i % 2 ? 0.5 : -0.5;
    const db = energyEnvelope(samples, frame);
    assert.equal(db.length, 4, 'a partial last frame counts');
    assert.ok(Math.abs(db[0]!) < 1e-6);
    assert.ok(Math.abs(db[1]! + 6.0206) < 1e-3);
    assert.equal(db[2], -120);
    assert.equal(db[3], -120);
  });
});
