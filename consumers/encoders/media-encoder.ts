// One vector per medium, by modality: images through EfficientNet-Lite0, audio through the speech
// embedding (pooled over the whole clip). The models load on first use, so a process that never
// sees a medium never loads them.
import { ensureAudioModel, ensureImageModel } from '../../infra/models/media-models.ts';
import { modalityOf, type MediaModel, type MediaRef, type Modality } from '../../topology/index.ts';
import { AudioEmbedder } from './audio-embedder.ts';
import { ImageEmbedder } from './image-embedder.ts';
import { MediaDecodeError } from './media-errors.ts';
import { readMedia, type MediaSourceLimits } from './media-source.ts';

export interface MediaEncoder {
  /** The L2-normalised embedding of one medium's bytes with the given registry model. */
  embed(modality: Modality, model: MediaModel, bytes: Buffer): Promise<Float32Array>;
  /** The medium's bytes: inline, or read from its uri. */
  read(media: MediaRef): Promise<Buffer>;
  close(): Promise<void>;
}

export interface MediaEncoderOptions extends MediaSourceLimits {
  readonly intraOpNumThreads?: number;
  readonly log?: (line: string) => void;
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
    async close() {
      const loaded = await Promise.allSettled([image, audio]);
      const results = await Promise.allSettled(loaded.flatMap((l) => (l.status === 'fulfilled' && l.value ? [l.value.close()] : [])));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/** The modality of a validated medium (its type was checked against MEDIA_TYPES). */
export function mediaModality(media: MediaRef): Modality {
  const modality = modalityOf(media.type);
  if (!modality) throw new MediaDecodeError(`media type ${media.type} is not supported`);
  return modality;
}
