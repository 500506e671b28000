// Speech to text with Moonshine (tiny or base, ORT files as the PyPI wheels ship them). The audio is
// decoded to 16 kHz mono (audio-decode.ts) and cut at its pauses (speech-segments.ts); each segment
// is encoded once, then the merged decoder runs greedily one token at a time from the start token
// until the end token, reusing its self-attention KV cache (`use_cache_branch`) and the cross-
// attention keys and values its first step computed from the encoder output.
import * as ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import { DEFAULT_SPEECH_MODEL_SIZE, SPEECH_MODELS, type SpeechModelSpec } from '../../../topology/media-models.ts';
import { UnavailableError } from '../../../topology/errors.ts';
import { decodeAudio } from './audio-decode.ts';
import { createMediaSession, floatOutput, type MediaSessionOptions } from './media-session.ts';
import { DEFAULT_SEGMENT_OPTIONS, energyEnvelope, speechSegments, type SegmentOptions } from './speech-segments.ts';
import { SpeechTokenizer } from './speech-tokenizer.ts';

export interface SpeechModelPaths {
  readonly encoderPath: string;
  readonly decoderPath: string;
  readonly tokenizerPath: string;
}

export interface TranscriptSegment {
  readonly startMs: number;
  readonly endMs: number;
  readonly text: string;
}

export interface Transcript {
  /** The segments' texts joined by spaces; empty when nothing was said. */
  readonly text: string;
  /** Only segments with text. */
  readonly segments: readonly TranscriptSegment[];
  readonly durationMs: number;
}

export interface SpeechTranscriberOptions extends MediaSessionOptions {
  /** Longer audio is refused (ContractError `media-undecodable`). */
  readonly maxSeconds?: number;
  readonly ffmpegPath?: string;
  readonly segments?: Partial<SegmentOptions>;
}

type Feeds = Record<string, ort.Tensor>;

/** Which model of the pair failed on the input: the label of searchbus_transcription_failures_total. */
export type TranscriptionFailureReason = 'encoder-error' | 'decoder-error';

/**
 * onnxruntime refused to run the model on this input (a shape it cannot take, say): the same audio
 * fails the same way again, so it is not retried; the recording is indexed without its transcript.
 * A run that could not allocate memory is no such failure: it stays a retriable `encoder-failed`.
 */
export class TranscriptionFailure extends UnavailableError {
  override readonly name: string = 'TranscriptionFailure';
  constructor(
    readonly reason: TranscriptionFailureReason,
    message: string,
    cause: unknown,
  ) {
    super('transcription-failed', message, { cause, retriable: false });
  }
}

const OUT_OF_MEMORY = /alloc|out of memory/i;

export class SpeechTranscriber {
  private closed = false;
  // The tiny export takes attention masks, the base export does not: fed only where the graph has them.
  private readonly encoderMask: boolean;
  private readonly decoderMask: boolean;

  private constructor(
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly tokenizer: SpeechTokenizer,
    readonly spec: SpeechModelSpec,
    private readonly options: { maxSeconds: number; ffmpegPath: string; segments: SegmentOptions },
  ) {
    this.encoderMask = encoder.inputNames.includes('attention_mask');
    this.decoderMask = decoder.inputNames.includes('encoder_attention_mask');
  }

  static async create(
    paths: SpeechModelPaths,
    options: SpeechTranscriberOptions = {},
    spec: SpeechModelSpec = SPEECH_MODELS[DEFAULT_SPEECH_MODEL_SIZE],
  ): Promise<SpeechTranscriber> {
    const session = { ...options };
    const [encoder, decoder, tokenizerBytes] = await Promise.all([
      createMediaSession(paths.encoderPath, session),
      createMediaSession(paths.decoderPath, session),
      readFile(paths.tokenizerPath),
    ]);
    const segments = { ...DEFAULT_SEGMENT_OPTIONS, maxSegmentMs: spec.maxSegmentMs, ...options.segments };
    return new SpeechTranscriber(encoder, decoder, SpeechTokenizer.parse(tokenizerBytes), spec, {
      maxSeconds: options.maxSeconds ?? 3600,
      ffmpegPath: options.ffmpegPath ?? 'ffmpeg',
      segments,
    });
  }

  /** Any audio (or video) ffmpeg reads, as bytes or a path; undecodable input is a ContractError `media-undecodable`. */
  async transcribe(input: Buffer | string): Promise<Transcript> {
    const pcm = await decodeAudio(input, {
      sampleRate: this.spec.sampleRate,
      maxSeconds: this.options.maxSeconds,
      ffmpegPath: this.options.ffmpegPath,
    });
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i]! / 32768;
    return this.transcribeSamples(samples);
  }

  /** Mono samples in [-1, 1] at the model's sample rate. */
  async transcribeSamples(samples: Float32Array): Promise<Transcript> {
    this.assertOpen();
    const rate = this.spec.sampleRate;
    const { segments: segmentOptions } = this.options;
    const frameSamples = Math.round((segmentOptions.frameMs * rate) / 1000);
    const found: TranscriptSegment[] = [];
    for (const segment of speechSegments(energyEnvelope(samples, frameSamples), segmentOptions)) {
      const from = Math.round((segment.startMs * rate) / 1000);
      const to = Math.min(samples.length, Math.round((segment.endMs * rate) / 1000));
      const ids = await this.generate(samples.subarray(from, to));
      const text = this.tokenizer.decode(ids);
      if (text) found.push({ startMs: segment.startMs, endMs: Math.min(segment.endMs, Math.round((samples.length * 1000) / rate)), text });
    }
    return {
      text: found.map((segment) => segment.text).join(' '),
      segments: found,
      durationMs: Math.round((samples.length * 1000) / rate),
    };
  }

  /** Greedy decoding of one segment: the token ids between the start and the end token. */
  private async generate(samples: Float32Array): Promise<number[]> {
    const hidden = await this.encode(samples);
    const maxTokens = Math.max(1, Math.ceil((samples.length / this.spec.sampleRate) * this.spec.maxTokensPerSecond));
    const { layers, kvHeads, headDim } = this.spec;
    const empty = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    const past: Feeds = {};
    for (let layer = 0; layer < layers; layer++) {
      for (const part of ['decoder', 'encoder'])
        for (const kind of ['key', 'value']) past[`past_key_values.${layer}.${part}.${kind}`] = empty;
    }
    const fixed: Feeds = { encoder_hidden_states: hidden };
    // The decoder takes the encoder's mask over samples, not over its output frames: the graph keeps
    // every 384th entry (the encoder's strides 64 × 3 × 2) and cuts to the frame count. A mask over the
    // frames left ⌈frames / 384⌉ entries, which broadcast only while that was 1 (segments under ~9 s).
    if (this.decoderMask) fixed.encoder_attention_mask = ones(samples.length);

    const ids: number[] = [];
    let token = this.spec.startTokenId;
    for (let step = 0; step < maxTokens; step++) {
      const outputs = await this.runDecoder({
        ...fixed,
        ...past,
        input_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(token)]), [1, 1]),
        use_cache_branch: new ort.Tensor('bool', Uint8Array.from([step > 0 ? 1 : 0]), [1]),
      });
      token = argmax(floatOutput(outputs, 'logits'));
      if (token === this.spec.endTokenId) break;
      ids.push(token);
      for (let layer = 0; layer < layers; layer++) {
        // The cross-attention cache is computed on the first step only; later steps echo or omit it.
        const parts = step === 0 ? ['decoder', 'encoder'] : ['decoder'];
        for (const part of parts) {
          for (const kind of ['key', 'value']) {
            const present = outputs[`present.${layer}.${part}.${kind}`];
            if (!present) throw this.modelError(`the decoder has no output present.${layer}.${part}.${kind}`);
            past[`past_key_values.${layer}.${part}.${kind}`] = present;
          }
        }
      }
    }
    return ids;
  }

  private async encode(samples: Float32Array): Promise<ort.Tensor> {
    const feeds: Feeds = { input_values: new ort.Tensor('float32', samples, [1, samples.length]) };
    if (this.encoderMask) feeds.attention_mask = ones(samples.length);
    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      outputs = await this.encoder.run(feeds);
    } catch (error) {
      throw this.runError('encoder-error', 'the speech encoder failed', error);
    }
    const hidden = outputs.last_hidden_state;
    if (!hidden) throw this.modelError('the speech encoder has no output last_hidden_state');
    return hidden;
  }

  private async runDecoder(feeds: Feeds): Promise<ort.InferenceSession.OnnxValueMapType> {
    try {
      return await this.decoder.run(feeds);
    } catch (error) {
      throw this.runError('decoder-error', 'the speech decoder failed', error);
    }
  }

  private runError(reason: TranscriptionFailureReason, message: string, error: unknown): UnavailableError {
    const text = `${this.spec.id}: ${message}: ${error instanceof Error ? error.message : String(error)}`;
    if (OUT_OF_MEMORY.test(text)) return new UnavailableError('encoder-failed', text, { cause: error });
    return new TranscriptionFailure(reason, text, error);
  }

  private modelError(message: string, cause?: unknown): UnavailableError {
    return new UnavailableError('encoder-failed', `${this.spec.id}: ${message}`, { cause, retriable: false });
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('encoder-closed', 'the speech transcriber is closed', { retriable: false });
  }

  /** Idempotent; releases both sessions even when the first release throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const results = await Promise.allSettled([this.encoder.release(), this.decoder.release()]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

function ones(length: number): ort.Tensor {
  return new ort.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]);
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
