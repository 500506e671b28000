import { SchemaError } from './errors.ts';

// Media in the public contracts (ingest and search): a MIME type plus the bytes, either inline
// (base64, up to the inline limit) or by reference (the claim-check pattern: a file:// or http(s)://
// URI the encoder reads when it embeds, so the compacted topic holds a few hundred bytes per
// document and a rebuild replays everything as long as the referenced content stays where it is).

export type Modality = 'image' | 'audio';
export const MODALITIES: readonly Modality[] = ['image', 'audio'];
/**
 * What a document's medium is: one modality, or a video, whose sampled frames fill `image` vectors
 * and whose audio track fills `audio` vectors. A query by example is an image or audio, never a video.
 */
export type MediaKind = Modality | 'video';

export interface MediaRef {
  /** A MIME type of MEDIA_TYPES (parameters such as `; codecs=...` are ignored). */
  type: string;
  /** The content, base64 (standard alphabet, padded or not). */
  data?: string;
  /** Where the content is: file:///absolute/path or http(s)://... */
  uri?: string;
}

/** MIME type -> kind: the types the encoders decode (sharp for images, ffmpeg for audio and video). */
export const MEDIA_TYPES: Readonly<Record<string, MediaKind>> = {
  'image/jpeg': 'image',
  'image/png': 'image',
  'image/webp': 'image',
  'audio/wav': 'audio',
  'audio/x-wav': 'audio',
  'audio/wave': 'audio',
  'audio/mpeg': 'audio',
  'audio/ogg': 'audio',
  'audio/flac': 'audio',
  'audio/x-flac': 'audio',
  'video/mp4': 'video',
  'video/webm': 'video',
};

/** File extension -> MIME type, for `searchbus ingest <folder>` and the CLI's query files. */
export const MEDIA_EXTENSIONS: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

/** Default of SEARCHBUS_MEDIA_INLINE_MAX_BYTES: decoded bytes of inline data (base64 is 4/3 of it). */
export const DEFAULT_MEDIA_INLINE_MAX_BYTES = 512 * 1024;
/** The largest inline limit the 1 MiB message limit leaves room for (base64 + the rest of the envelope). */
export const MAX_MEDIA_INLINE_MAX_BYTES = 700 * 1024;
const MAX_URI_CHARS = 2048;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function modalityOf(type: string): MediaKind | undefined {
  return MEDIA_TYPES[mimeEssence(type)];
}

function mimeEssence(type: string): string {
  return (type.split(';')[0] ?? '').trim().toLowerCase();
}

/** Decoded size of base64 text without decoding it. */
export function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.floor((data.length * 3) / 4) - padding;
}

/**
 * Checks a `media` field (document or query) and returns its modality. Exactly one of `data` and
 * `uri`; inline data is base64 of at most `inlineMaxBytes`; a URI is file:// or http(s)://.
 * Reachability is not checked here: the encoder finds out, and dead-letters with a reason.
 */
export function validateMedia(input: unknown, inlineMaxBytes: number, path = 'media'): { media: MediaRef; modality: MediaKind } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SchemaError('invalid-media', `${path} must be an object { type, data? , uri? }`);
  }
  const media = input as Record<string, unknown>;
  const unknown = Object.keys(media).filter((k) => k !== 'type' && k !== 'data' && k !== 'uri');
  if (unknown.length > 0) throw new SchemaError('invalid-media', `${path} has unknown field(s): ${unknown.join(', ')}`);
  if (typeof media.type !== 'string' || media.type.trim() === '') throw new SchemaError('invalid-media', `${path}.type must be a MIME type`);
  const modality = modalityOf(media.type);
  if (!modality) {
    throw new SchemaError(
      'unsupported-media-type',
      `${path}.type ${JSON.stringify(media.type.slice(0, 100))} is not supported; supported: ${Object.keys(MEDIA_TYPES).join(', ')}`,
    );
  }
  if ((media.data === undefined) === (media.uri === undefined)) throw new SchemaError('invalid-media', `${path} needs exactly one of data (base64) and uri`);
  if (media.data !== undefined) {
    if (typeof media.data !== 'string' || media.data.length === 0 || media.data.length % 4 === 1 || !BASE64.test(media.data)) {
      throw new SchemaError('invalid-media', `${path}.data must be non-empty base64`);
    }
    const bytes = base64Bytes(media.data);
    if (bytes > inlineMaxBytes) {
      throw new SchemaError('media-too-large', `${path}.data holds ${bytes} bytes; inline media is limited to ${inlineMaxBytes} bytes: publish it by uri instead`);
    }
    return { media: { type: media.type, data: media.data }, modality };
  }
  if (typeof media.uri !== 'string' || media.uri.length > MAX_URI_CHARS) throw new SchemaError('invalid-media', `${path}.uri must be a string of at most ${MAX_URI_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(media.uri);
  } catch {
    throw new SchemaError('invalid-media', `${path}.uri is not a URL`);
  }
  if (!['file:', 'http:', 'https:'].includes(url.protocol)) throw new SchemaError('invalid-media', `${path}.uri must be file://, http:// or https://, got ${url.protocol}`);
  return { media: { type: media.type, uri: media.uri }, modality };
}
