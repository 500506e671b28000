// One vector per medium, by modality: images through EfficientNet-Lite0, audio through the speech
// embedding (pooled over the whole clip). Document files give text instead (extracted per page),
// and images may give OCR text too. The models and the OCR engine load on first use, so a process
// that never sees a medium never loads them.
import { ensureAudioModel, ensureImageModel } from '../../infra/models/media-models.ts';
import { mediaKindOf, type MediaKind, type MediaModel, type MediaRef, type Modality } from '../../topology/index.ts';
import { AudioEmbedder } from './audio-embedder.ts';
import { ImageEmbedder } from './image-embedder.ts';
import { extractDocument, type TextSegment } from './document-text.ts';
import { MediaDecodeError } from './media-errors.ts';
import { readMedia, type MediaSourceLimits } from './media-source.ts';
import { OcrEngine, type OcrResult } from './ocr-engine.ts';

export interface MediaEncoder {
  /** The L2-normalised embedding of one medium's bytes with the given registry model. */
  embed(modality: Modality, model: MediaModel, bytes: Buffer): Promise<Float32Array>;
  /** The medium's bytes: inline, or read from its uri. */
  read(media: MediaRef): Promise<Buffer>;
  /** A document file's text, one segment per page (PDF) or one for the file; typed errors when it has none. */
  extract(type: string, bytes: Buffer): Promise<TextSegment[]>;
  /** The text inside an image, or null when OCR is off (SEARCHBUS_OCR_IMAGES=false). */
  ocr(bytes: Buffer): Promise<OcrResult | null>;
  close(): Promise<void>;
}

export interface MediaEncoderOptions extends MediaSourceLimits {
  readonly intraOpNumThreads?: number;
  readonly log?: (line: string) => void;
  /** OCR of images (SEARCHBUS_OCR_IMAGES, SEARCHBUS_OCR_MIN_CONFIDENCE); off when absent. */
  readonly ocr?: { readonly enabled: boolean; readonly minConfidence: number };
}

export function mediaEncoder(options: MediaEncoderOptions): MediaEncoder {
  let image: Promise<ImageEmbedder> | undefined;
  let audio: Promise<AudioEmbedder> | undefined;
  const session = options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {};
  const log = options.log ? { log: options.log } : {};
  const loadImage = (): Promise<ImageEmbedder> => {
    image ??= ensureImageModel(log).then((files) => ImageEmbedder.create(files.onnxPath, session));
    image.catch(() => (image = undefined));
    return image;
  };
  const ocr = options.ocr?.enabled ? new OcrEngine({ minConfidence: options.ocr.minConfidence }) : null;
  const loadAudio = (): Promise<AudioEmbedder> => {
    audio ??= ensureAudioModel(log).then((files) => AudioEmbedder.create(files, session));
    audio.catch(() => (audio = undefined));
    return audio;
  };
  return {
    async embed(modality, model, bytes) {
      if (modality === 'image') {
        const embedder = await loadImage();
        if (embedder.spec.id !== model.id) throw new MediaDecodeError(`image model ${model.id} is not loaded (this build embeds images with ${embedder.spec.id})`);
        const [result] = await embedder.embed([bytes]);
        return result!.vector;
      }
      const embedder = await loadAudio();
      if (embedder.spec.id !== model.id) throw new MediaDecodeError(`audio model ${model.id} is not loaded (this build embeds audio with ${embedder.spec.id})`);
      return (await embedder.embed(bytes)).vector;
    },
    read: (media) => readMedia(media, options),
    // Scanned PDF pages are OCR'd when OCR is on.
    extract: (type, bytes) => extractDocument(type, bytes, ocr ? { ocr: async (png) => (await ocr.recognize(png)).text } : {}),
    ocr: async (bytes) => (ocr ? ocr.recognize(bytes) : null),
    async close() {
      const loaded = await Promise.allSettled([image, audio]);
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
  if (!kind) throw new MediaDecodeError(`media type ${media.type} is not supported`);
  return kind;
}
