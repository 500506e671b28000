// One vector per medium, by modality: images through EfficientNet-Lite0, audio through the speech
// embedding (pooled over the whole clip); a video gives one image vector per sampled frame and one
// audio vector per segment of its audio track, each with its time. Document files give text instead
// (extracted per page), and images may give OCR text too, recordings and videos their transcribed speech. The
// models and the OCR engine load on first use, so a process that never sees a medium never loads them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  mediaKindOf,
  type MediaKind,
  type MediaModel,
  type MediaRef,
  type Modality,
  type SearchbusConfig,
} from '../../../topology/index.ts';
import type { SpeechModelSpec } from '../../../topology/media-models.ts';
import { SpeechTranscriber, TranscriptionFailure, type SpeechModelPaths } from './speech-transcriber.ts';
import { AudioEmbedder, type AudioModelPaths } from './audio-embedder.ts';
import { ImageEmbedder } from './image-embedder.ts';
import { imageLabels, type ImageLabel, type ImageLabelOptions } from './image-labels.ts';
import { extractDocument, type TextSegment } from '../documents/document-text.ts';
import { ContractError, type MediaErrorCode } from '../../../topology/errors.ts';
import { readMedia, type MediaSourceLimits } from './media-source.ts';
import { OcrEngine, type OcrResult } from '../documents/ocr-engine.ts';
import { probeVideo, sampleFrames, type FrameSampling, type VideoTools } from './video-frames.ts';

/** A vector at a time of a video. */
export interface TimedVector {
  readonly atSeconds: number;
  readonly vector: Float32Array;
}

export interface VideoEmbedding {
  readonly durationSeconds: number;
  /** One image vector per sampled frame, in time order. */
  readonly frames: readonly TimedVector[];
  /** One audio vector per segment of the audio track (at its start); none without a track or an audio model. */
  readonly audio: readonly TimedVector[];
  /**
   * What is said on the audio track, one segment per utterance with its times; absent without a
   * track or with speech to text off. A TranscriptionFailure when the speech model failed on it: the
   * frames stand, and the caller indexes the video without a transcript.
   */
  readonly speech?: TextSegment[] | TranscriptionFailure;
}

export interface MediaEncoder {
  /** The L2-normalised embedding of one medium's bytes with the given registry model. */
  embed(modality: Modality, model: MediaModel, bytes: Buffer): Promise<Float32Array>;
  /** An image's embedding and what is in it: its confident ImageNet classes (none when labels are off). */
  embedImage(model: MediaModel, bytes: Buffer): Promise<{ vector: Float32Array; labels: ImageLabel[] }>;
  /** A video's sampled frames through the image model, its audio track through the audio model (null: no audio vectors) and the speech model. */
  embedVideo(models: { readonly image: MediaModel; readonly audio: MediaModel | null }, bytes: Buffer): Promise<VideoEmbedding>;
  /** The medium's bytes: inline, or read from its uri. */
  read(media: MediaRef): Promise<Buffer>;
  /** A document file's text, one segment per page (PDF) or one for the file; typed errors when it has none. */
  extract(type: string, bytes: Buffer): Promise<TextSegment[]>;
  /** The text inside an image, or null when OCR is off (SEARCHBUS_OCR_IMAGES=false). */
  ocr(bytes: Buffer): Promise<OcrResult | null>;
  /** The speech in a recording, one segment per utterance with its times (none: nothing said), or null when speech to text is off. */
  transcribe(bytes: Buffer): Promise<TextSegment[] | null>;
  close(): Promise<void>;
}

/** Defaults of SEARCHBUS_MEDIA_VIDEO_FRAME_INTERVAL_MS and SEARCHBUS_MEDIA_VIDEO_MAX_FRAMES. */
const DEFAULT_FRAME_SAMPLING: FrameSampling = { intervalMs: 1_000, maxFrames: 300 };

/**
 * Where the image and audio model files come from: fetched and verified by whoever composes the
 * process (infra's model cache), so this library never reaches a registry itself.
 */
export interface MediaModelFiles {
  image(options: { log?: (line: string) => void }): Promise<{ readonly onnxPath: string }>;
  audio(options: { log?: (line: string) => void }): Promise<AudioModelPaths>;
  speech(spec: SpeechModelSpec, options: { log?: (line: string) => void }): Promise<SpeechModelPaths>;
}

export interface MediaEncoderOptions extends MediaSourceLimits {
  /** Asked once per model, on first use. */
  readonly models: MediaModelFiles;
  readonly intraOpNumThreads?: number;
  readonly log?: (line: string) => void;
  /** OCR of images (SEARCHBUS_OCR_IMAGES, SEARCHBUS_OCR_MIN_CONFIDENCE); off when absent. */
  readonly ocr?: { readonly enabled: boolean; readonly minConfidence: number };
  /** Labels of images (SEARCHBUS_IMAGE_LABELS_*); none when absent. */
  readonly labels?: ImageLabelOptions;
  /** How video frames are sampled. */
  readonly video?: FrameSampling;
  /** The model that transcribes recordings (SEARCHBUS_SPEECH_TO_TEXT, SEARCHBUS_SPEECH_MODEL); none: no transcripts. */
  readonly speech?: SpeechModelSpec | null;
  readonly tools?: VideoTools;
  /** Where a video and its frames are written while they are embedded (default: the OS temp directory). */
  readonly scratchDir?: string;
}

/**
 * The options the settings give (SEARCHBUS_MEDIA_*, SEARCHBUS_OCR_*), in one place so that every
 * media encoder a role makes (the encoder's, the reindex worker's own) reads files under the same
 * roots, OCRs and samples video alike.
 */
export function mediaEncoderSettings(media: SearchbusConfig['media']): Omit<MediaEncoderOptions, 'models'> {
  const { fetchMaxBytes, fetchTimeoutMs, fileRoots, urlHosts, urlAllowNetworks, ocr, labels, videoFrameIntervalMs, videoMaxFrames } = media;
  return {
    speech: media.speechToText ? media.speechModel : null,
    fetchMaxBytes,
    fetchTimeoutMs,
    fileRoots,
    urlHosts,
    urlAllowNetworks,
    ocr,
    labels,
    video: { intervalMs: videoFrameIntervalMs, maxFrames: videoMaxFrames },
  };
}

export function mediaEncoder(options: MediaEncoderOptions): MediaEncoder {
  let image: Promise<ImageEmbedder> | undefined;
  let audio: Promise<AudioEmbedder> | undefined;
  const session = options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {};
  const log = options.log ? { log: options.log } : {};
  const loadImage = (): Promise<ImageEmbedder> => {
    image ??= options.models.image(log).then((files) => ImageEmbedder.create(files.onnxPath, session));
    image.catch(() => (image = undefined));
    return image;
  };
  const ocr = options.ocr?.enabled ? new OcrEngine({ minConfidence: options.ocr.minConfidence }) : null;
  const loadAudio = (): Promise<AudioEmbedder> => {
    audio ??= options.models.audio(log).then((files) => AudioEmbedder.create(files, session));
    audio.catch(() => (audio = undefined));
    return audio;
  };
  const imageEmbedder = async (model: MediaModel): Promise<ImageEmbedder> => {
    const embedder = await loadImage();
    if (embedder.spec.id !== model.id)
      throw new ContractError<MediaErrorCode>(
        'media-undecodable',
        `image model ${model.id} is not loaded (this build embeds images with ${embedder.spec.id})`,
      );
    return embedder;
  };
  const audioEmbedder = async (model: MediaModel): Promise<AudioEmbedder> => {
    const embedder = await loadAudio();
    if (embedder.spec.id !== model.id)
      throw new ContractError<MediaErrorCode>(
        'media-undecodable',
        `audio model ${model.id} is not loaded (this build embeds audio with ${embedder.spec.id})`,
      );
    return embedder;
  };
  let transcriber: Promise<SpeechTranscriber> | undefined;
  const loadTranscriber = (spec: SpeechModelSpec): Promise<SpeechTranscriber> => {
    transcriber ??= options.models.speech(spec, log).then((files) => SpeechTranscriber.create(files, session, spec));
    transcriber.catch(() => (transcriber = undefined));
    return transcriber;
  };
  const sampling = options.video ?? DEFAULT_FRAME_SAMPLING;
  const transcribe = async (input: Buffer | string): Promise<TextSegment[] | null> => {
    if (!options.speech) return null;
    const transcript = await (await loadTranscriber(options.speech)).transcribe(input);
    return transcript.segments.map((s) => ({ text: s.text, startMs: s.startMs, endMs: s.endMs, source: 'transcript' as const }));
  };
  // The track is read from the video's file (its index may sit at its end); a failure that would
  // recur is handed back so the frames already embedded still get indexed.
  const transcribeTrack = async (path: string): Promise<TextSegment[] | TranscriptionFailure | null> => {
    try {
      return await transcribe(path);
    } catch (error) {
      if (error instanceof TranscriptionFailure) return error;
      throw error;
    }
  };
  return {
    async embed(modality, model, bytes) {
      if (modality === 'image') {
        const [result] = await (await imageEmbedder(model)).embed([bytes]);
        return result!.vector;
      }
      return (await (await audioEmbedder(model)).embed(bytes)).vector;
    },
    async embedImage(model, bytes) {
      const [result] = await (await imageEmbedder(model)).embed([bytes]);
      return { vector: result!.vector, labels: options.labels ? imageLabels(result!.logits, options.labels) : [] };
    },
    async embedVideo(models, bytes) {
      // ffmpeg and ffprobe seek in a file (an MP4's index may sit at its end); frames go beside it.
      const dir = await mkdtemp(join(options.scratchDir ?? tmpdir(), 'searchbus-video-'));
      try {
        const path = join(dir, 'video');
        await writeFile(path, bytes);
        const probe = await probeVideo(path, options.tools);
        await mkdir(join(dir, 'frames'));
        const sampled = await sampleFrames(path, join(dir, 'frames'), probe, sampling, options.tools);
        const embedded = await (await imageEmbedder(models.image)).embed(sampled.map((f) => f.path));
        const frames = sampled.map((f, i) => ({ atSeconds: f.atSeconds, vector: embedded[i]!.vector }));
        if (!probe.hasAudio) return { durationSeconds: probe.durationSeconds, frames, audio: [] };
        const track = models.audio ? await (await audioEmbedder(models.audio)).embed(path) : null;
        const speech = await transcribeTrack(path);
        return {
          durationSeconds: probe.durationSeconds,
          frames,
          audio: track ? track.segments.map((s) => ({ atSeconds: s.startSeconds, vector: s.vector })) : [],
          ...(speech ? { speech } : {}),
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    read: (media) => readMedia(media, options),
    // Scanned PDF pages are OCR'd when OCR is on.
    extract: (type, bytes) => extractDocument(type, bytes, ocr ? { ocr: async (png) => (await ocr.recognize(png)).text } : {}),
    ocr: async (bytes) => (ocr ? ocr.recognize(bytes) : null),
    transcribe,
    async close() {
      const loaded = await Promise.allSettled([image, audio, transcriber]);
      const results = await Promise.allSettled([
        ...loaded.flatMap((l) => (l.status === 'fulfilled' && l.value ? [l.value.close()] : [])),
        ...(ocr ? [ocr.close()] : []),
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/** The kind of a validated medium (its type was checked against MEDIA_TYPES and DOCUMENT_TYPES). */
export function mediaModality(media: MediaRef): MediaKind {
  const kind = mediaKindOf(media.type);
  if (!kind) throw new ContractError<MediaErrorCode>('media-undecodable', `media type ${media.type} is not supported`);
  return kind;
}
