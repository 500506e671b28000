// Audio in, speech embeddings out: Google's speech_embedding as openWakeWord runs it. The clip is
// decoded to 16 kHz mono (audio-decode.ts); the mel model turns it into 32-bin frames every 10 ms,
// mapped by x/10 + 2; every 8 frames (80 ms) a window of 76 frames (~0.78 s) gives a 96-d vector.
// The clip's vector is the L2-normalised mean of its windows; segments of `segmentSeconds` get
// their own mean, with timestamps, to be stored as chunks.
import * as ort from 'onnxruntime-node';
import { AUDIO_MODEL, type AudioModelSpec } from '../../../topology/media-models.ts';
import { ContractError, UnavailableError } from '../../../topology/errors.ts';
import { decodeAudio } from './audio-decode.ts';
import { createMediaSession, floatOutput, type MediaSessionOptions } from './media-session.ts';
import { l2Normalize } from '../inference/pooling.ts';

export interface AudioWindow {
  readonly startSeconds: number;
  readonly endSeconds: number;
  /** As the model gives it (not normalised). */
  readonly vector: Float32Array;
}

export interface AudioSegment {
  readonly startSeconds: number;
  readonly endSeconds: number;
  /** L2-normalised mean of the segment's windows. */
  readonly vector: Float32Array;
  readonly windows: number;
}

export interface AudioEmbedding {
  /** L2-normalised mean of every window of the clip. */
  readonly vector: Float32Array;
  readonly durationSeconds: number;
  readonly windows: readonly AudioWindow[];
  readonly segments: readonly AudioSegment[];
}

export interface AudioEmbedderOptions extends MediaSessionOptions {
  /** Length of a segment (a chunk of a long recording); windows are assigned by their start. */
  readonly segmentSeconds?: number;
  /** Windows per run of the embedding model. */
  readonly batchSize?: number;
  /** Mel frames per run of the mel model, so a long recording is never one huge tensor. */
  readonly chunkFrames?: number;
  /** Longer audio is refused (ContractError `media-undecodable`). */
  readonly maxSeconds?: number;
  readonly ffmpegPath?: string;
}

export interface AudioModelPaths {
  readonly melspectrogramPath: string;
  readonly embeddingPath: string;
}

interface Settings {
  readonly segmentSeconds: number;
  readonly batchSize: number;
  readonly chunkFrames: number;
  readonly maxSeconds: number;
  readonly ffmpegPath: string;
}

export class AudioEmbedder {
  private closed = false;

  private constructor(
    private readonly mel: ort.InferenceSession,
    private readonly embedding: ort.InferenceSession,
    readonly spec: AudioModelSpec,
    private readonly settings: Settings,
  ) {}

  static async create(
    paths: AudioModelPaths,
    options: AudioEmbedderOptions = {},
    spec: AudioModelSpec = AUDIO_MODEL,
  ): Promise<AudioEmbedder> {
    const settings: Settings = {
      segmentSeconds: options.segmentSeconds ?? 10,
      batchSize: options.batchSize ?? 64,
      chunkFrames: options.chunkFrames ?? 3000,
      maxSeconds: options.maxSeconds ?? 3600,
      ffmpegPath: options.ffmpegPath ?? 'ffmpeg',
    };
    for (const key of ['segmentSeconds', 'maxSeconds'] as const) {
      if (!(settings[key] > 0)) throw new ContractError('encoder-config', `audio ${key} must be positive, got ${settings[key]}`);
    }
    for (const key of ['batchSize', 'chunkFrames'] as const) {
      if (!Number.isInteger(settings[key]) || settings[key] < 1)
        throw new ContractError('encoder-config', `audio ${key} must be a positive integer, got ${settings[key]}`);
    }
    const mel = await createMediaSession(paths.melspectrogramPath, options);
    const embedding = await createMediaSession(paths.embeddingPath, options).catch(async (error: unknown) => {
      await mel.release();
      throw error;
    });
    return new AudioEmbedder(mel, embedding, spec, settings);
  }

  /** Any audio ffmpeg reads (WAV, MP3, Ogg, FLAC, the audio of MP4/WebM), as bytes or a file path. */
  async embed(input: Buffer | string): Promise<AudioEmbedding> {
    const samples = await decodeAudio(input, {
      sampleRate: this.spec.sampleRate,
      maxSeconds: this.settings.maxSeconds,
      ffmpegPath: this.settings.ffmpegPath,
    });
    return this.embedSamples(samples);
  }

  /** 16 kHz mono 16-bit samples. A clip shorter than one window is padded with silence. */
  async embedSamples(samples: Int16Array): Promise<AudioEmbedding> {
    if (this.closed) throw new UnavailableError('encoder-closed', 'the audio embedder is closed', { retriable: false });
    const { sampleRate, hopSamples, frameSamples, windowFrames, stepFrames } = this.spec;
    const minSamples = frameSamples + (windowFrames - 1) * hopSamples;
    const audio = new Float32Array(Math.max(samples.length, minSamples));
    // openWakeWord feeds int16 sample values as floats, not scaled to [-1, 1].
    audio.set(samples);
    const mel = await this.melFrames(audio);
    const starts: number[] = [];
    for (let frame = 0; frame + windowFrames <= mel.frames; frame += stepFrames) starts.push(frame);
    const vectors = await this.embedWindows(mel.data, starts);
    const windows = starts.map((frame, i) => ({
      startSeconds: (frame * hopSamples) / sampleRate,
      endSeconds: (frame * hopSamples + (windowFrames - 1) * hopSamples + frameSamples) / sampleRate,
      vector: vectors[i]!,
    }));
    return {
      vector: meanVector(
        windows.map((w) => w.vector),
        this.spec.dimension,
      ),
      durationSeconds: samples.length / sampleRate,
      windows,
      segments: this.segments(windows),
    };
  }

  /** The transformed mel spectrogram, [frames, melBins], computed `chunkFrames` at a time. */
  private async melFrames(audio: Float32Array): Promise<{ data: Float32Array; frames: number }> {
    const { hopSamples, frameSamples, melBins, melScale, melOffset } = this.spec;
    const frames = Math.floor((audio.length - frameSamples) / hopSamples) + 1;
    const data = new Float32Array(frames * melBins);
    // Each frame reads an unpadded window of the signal, so a chunk that starts on a hop boundary
    // yields the same frames as the whole clip would, up to the model's clamp of quiet bins relative
    // to the loudest in its input (cosine >= 0.9998 against one pass, see the unit test).
    for (let first = 0; first < frames; first += this.settings.chunkFrames) {
      const count = Math.min(this.settings.chunkFrames, frames - first);
      const start = first * hopSamples;
      const slice = audio.subarray(start, start + (count - 1) * hopSamples + frameSamples);
      const outputs = await this.mel.run({ [this.mel.inputNames[0]!]: new ort.Tensor('float32', slice, [1, slice.length]) });
      const out = floatOutput(outputs, this.mel.outputNames[0]!);
      if (out.length !== count * melBins)
        throw new UnavailableError('encoder-failed', `the mel model gave ${out.length / melBins} frames for ${count}`, {
          retriable: false,
        });
      for (let i = 0; i < out.length; i++) data[first * melBins + i] = out[i]! * melScale + melOffset;
    }
    return { data, frames };
  }

  private async embedWindows(mel: Float32Array, starts: readonly number[]): Promise<Float32Array[]> {
    const { windowFrames, melBins, dimension } = this.spec;
    const size = windowFrames * melBins;
    const out: Float32Array[] = [];
    for (let b = 0; b < starts.length; b += this.settings.batchSize) {
      const batch = starts.slice(b, b + this.settings.batchSize);
      const input = new Float32Array(batch.length * size);
      batch.forEach((frame, i) => input.set(mel.subarray(frame * melBins, frame * melBins + size), i * size));
      const feeds = { [this.embedding.inputNames[0]!]: new ort.Tensor('float32', input, [batch.length, windowFrames, melBins, 1]) };
      const result = floatOutput(await this.embedding.run(feeds), this.embedding.outputNames[0]!);
      if (result.length !== batch.length * dimension)
        throw new UnavailableError('encoder-failed', `the embedding model gave ${result.length} values for ${batch.length} windows`, {
          retriable: false,
        });
      for (let i = 0; i < batch.length; i++) out.push(result.slice(i * dimension, (i + 1) * dimension));
    }
    return out;
  }

  private segments(windows: readonly AudioWindow[]): AudioSegment[] {
    const groups = new Map<number, AudioWindow[]>();
    for (const window of windows) {
      const index = Math.floor(window.startSeconds / this.settings.segmentSeconds);
      const group = groups.get(index);
      if (group) group.push(window);
      else groups.set(index, [window]);
    }
    return [...groups.values()].map((group) => ({
      startSeconds: group[0]!.startSeconds,
      endSeconds: group[group.length - 1]!.endSeconds,
      vector: meanVector(
        group.map((w) => w.vector),
        this.spec.dimension,
      ),
      windows: group.length,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const results = await Promise.allSettled([this.mel.release(), this.embedding.release()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** The L2-normalised mean of equally long vectors. */
export function meanVector(vectors: readonly Float32Array[], dimension: number): Float32Array {
  const mean = new Float32Array(dimension);
  for (const vector of vectors) for (let d = 0; d < dimension; d++) mean[d] = mean[d]! + vector[d]!;
  for (let d = 0; d < dimension; d++) mean[d] = mean[d]! / Math.max(vectors.length, 1);
  return l2Normalize(mean);
}
