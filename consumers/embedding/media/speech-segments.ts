// Where a recording speaks: energy-based voice activity on 30 ms frames, so that only speech reaches
// the speech model (it invents words on silence and noise) and a long recording is cut at its
// pauses into segments no longer than the model's window. The threshold adapts to the recording:
// a frame is voiced when it stands `marginDb` above the recording's noise floor (a low percentile of
// its frame energies) and above `minDb` absolute, so steady noise of any level stays unvoiced.

export interface SpeechSegment {
  readonly startMs: number;
  readonly endMs: number;
}

export interface SegmentOptions {
  /** Frame length of the energy envelope. */
  readonly frameMs: number;
  /** A voiced frame is this far above the noise floor... */
  readonly marginDb: number;
  /** ...and above this absolute level (dB relative to full scale). */
  readonly minDb: number;
  /** The noise floor is this percentile (0-1) of the frame energies. */
  readonly floorPercentile: number;
  /** Pauses shorter than this do not end a segment (between words, inside a sentence). */
  readonly minPauseMs: number;
  /** Voiced runs shorter than this are clicks, not speech. */
  readonly minSpeechMs: number;
  /** Kept on both sides of a segment, so that soft onsets and endings are not cut. */
  readonly padMs: number;
  /** The model's window: a longer run is cut at its quietest frame in the second half of the window. */
  readonly maxSegmentMs: number;
}

export const DEFAULT_SEGMENT_OPTIONS: SegmentOptions = {
  frameMs: 30,
  marginDb: 12,
  minDb: -50,
  floorPercentile: 0.1,
  minPauseMs: 400,
  minSpeechMs: 200,
  padMs: 200,
  maxSegmentMs: 30_000,
};

const SILENT_DB = -120;

/** The energy of each `frameSamples`-sample frame in dBFS (samples in [-1, 1]); a partial last frame counts. */
export function energyEnvelope(samples: Float32Array, frameSamples: number): Float32Array {
  const frames = Math.ceil(samples.length / frameSamples);
  const envelope = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const end = Math.min(samples.length, (f + 1) * frameSamples);
    let sum = 0;
    for (let i = f * frameSamples; i < end; i++) sum += samples[i]! * samples[i]!;
    const power = sum / (end - f * frameSamples);
    envelope[f] = power > 0 ? Math.max(SILENT_DB, 10 * Math.log10(power)) : SILENT_DB;
  }
  return envelope;
}

/** The speech segments of an envelope (one value per `frameMs` frame, dBFS), in ms from its start. */
export function speechSegments(envelope: Float32Array, options: SegmentOptions = DEFAULT_SEGMENT_OPTIONS): SpeechSegment[] {
  const { frameMs } = options;
  if (envelope.length === 0) return [];
  const sorted = Float32Array.from(envelope).sort();
  const floor = sorted[Math.min(sorted.length - 1, Math.floor(options.floorPercentile * sorted.length))]!;
  const threshold = Math.max(floor + options.marginDb, options.minDb);

  const runs = voicedRuns(envelope, threshold, Math.ceil(options.minPauseMs / frameMs));
  const pad = Math.round(options.padMs / frameMs);
  const maxFrames = Math.floor(options.maxSegmentMs / frameMs);
  const segments: SpeechSegment[] = [];
  for (const run of runs) {
    if (run.end - run.start < options.minSpeechMs / frameMs) continue;
    const previousEnd = segments.length > 0 ? segments[segments.length - 1]!.endMs / frameMs : 0;
    const start = Math.max(previousEnd, run.start - pad);
    const end = Math.min(envelope.length, run.end + pad);
    for (const piece of splitLong(envelope, start, end, maxFrames)) {
      segments.push({ startMs: piece.start * frameMs, endMs: piece.end * frameMs });
    }
  }
  return segments;
}

interface Run {
  start: number;
  /** Exclusive. */
  end: number;
}

/** Runs of frames above the threshold, with gaps shorter than `bridgeFrames` closed. */
function voicedRuns(envelope: Float32Array, threshold: number, bridgeFrames: number): Run[] {
  const runs: Run[] = [];
  for (let f = 0; f < envelope.length; f++) {
    if (envelope[f]! <= threshold) continue;
    const last = runs[runs.length - 1];
    if (last && f - last.end < bridgeFrames) last.end = f + 1;
    else runs.push({ start: f, end: f + 1 });
  }
  return runs;
}

/** Cuts [start, end) into pieces of at most maxFrames, each cut at the quietest frame of the second half of its window. */
function splitLong(envelope: Float32Array, start: number, end: number, maxFrames: number): Run[] {
  const pieces: Run[] = [];
  let from = start;
  while (end - from > maxFrames) {
    let quietest = from + maxFrames - 1;
    for (let f = from + Math.floor(maxFrames / 2); f < from + maxFrames; f++) if (envelope[f]! < envelope[quietest]!) quietest = f;
    pieces.push({ start: from, end: quietest + 1 });
    from = quietest + 1;
  }
  pieces.push({ start: from, end });
  return pieces;
}
