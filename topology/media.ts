import { CODE_TYPES } from './code-languages.ts';
import { ContractError, type SchemaErrorCode } from './errors.ts';

// Media in the public contracts (ingest and search): a MIME type plus the bytes, either inline
// (base64, up to the inline limit) or by reference (the claim-check pattern: a file:// or http(s)://
// URI the encoder reads when it embeds, so the compacted topic holds a few hundred bytes per
// document and a rebuild replays everything as long as the referenced content stays where it is).

export type Modality = 'image' | 'audio';
export const MODALITIES: readonly Modality[] = ['image', 'audio'];
/**
 * Documents whose text is extracted (PDF, DOCX, HTML, source code, and Markdown or plain text too large to
 * publish inline as `text`): their text joins the text path, chunked per page, and they have no
 * media vector. Only ingested documents may carry them; a query by example cannot.
 */
export type DocumentFormat = 'pdf' | 'docx' | 'html' | 'markdown' | 'plain' | 'code';
/**
 * What a document's medium is: an image or audio clip (a media vector); a video, whose sampled
 * frames fill `image` vectors and whose audio track fills `audio` vectors; or a document file
 * (extracted text). A query by example is an image or audio, never a video or a document.
 */
export type MediaKind = Modality | 'video' | 'document';

export const DOCUMENT_TYPES: Readonly<Record<string, DocumentFormat>> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/markdown': 'markdown',
  'text/plain': 'plain',
  // Source files: parsed, chunked at function and class boundaries (topology/code-languages.ts).
  ...Object.fromEntries(Object.values(CODE_TYPES).map((type) => [type, 'code' as const])),
};

/** Default of SEARCHBUS_MEDIA_URL_HOSTS: any host, on public addresses only (consumers/embedding/media/media-fetch.ts). */
export const DEFAULT_MEDIA_URL_HOSTS: readonly string[] = ['*'];

/** Default of SEARCHBUS_OCR_MIN_CONFIDENCE: OCR text lines below this confidence (0-100) are dropped. */
export const DEFAULT_OCR_MIN_CONFIDENCE = 70;

/**
 * Defaults of SEARCHBUS_IMAGE_LABELS_MAX and SEARCHBUS_IMAGE_LABELS_MIN_PERCENT. Chosen by looking at
 * the six photos of test/fixtures/media (not at any set a figure is reported on): the right class
 * scored 35-99 %, runners-up that still described the photo ("leaf beetle" under "ladybug",
 * "valley" under "alp") 12-21 %, and the wrong ones ("bee" on a daisy) under 9 %.
 */
export const DEFAULT_IMAGE_LABELS = { max: 3, minPercent: 10 } as const;

/** File extension -> MIME type of the documents `searchbus ingest <folder>` extracts. */
export const DOCUMENT_EXTENSIONS: Readonly<Record<string, string>> = {
  '.pdf': 'application/pdf',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.xhtml': 'application/xhtml+xml',
};

export interface MediaRef {
  /** A MIME type of MEDIA_TYPES, or for a document of DOCUMENT_TYPES (parameters such as `; charset=...` are ignored). */
  type: string;
  /** The content, base64 (standard alphabet, padded or not). */
  data?: string;
  /** Where the content is: file:///absolute/path or http(s)://... */
  uri?: string;
}

/** MIME type -> kind: the types the encoders decode (sharp for images, ffmpeg for audio and video). */
export const MEDIA_TYPES: Readonly<Record<string, Modality | 'video'>> = {
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

/** The extensions of files a query by example may be (images and recordings, not videos). */
export const QUERY_MEDIA_EXTENSIONS: readonly string[] = Object.keys(MEDIA_EXTENSIONS).filter(
  (extension) => MEDIA_TYPES[MEDIA_EXTENSIONS[extension]!] !== 'video',
);

/** Default of SEARCHBUS_MEDIA_INLINE_MAX_BYTES: decoded bytes of inline data (base64 is 4/3 of it). */
export const DEFAULT_MEDIA_INLINE_MAX_BYTES = 512 * 1024;
/** The largest inline limit the 1 MiB message limit leaves room for (base64 + the rest of the envelope). */
export const MAX_MEDIA_INLINE_MAX_BYTES = 700 * 1024;
const MAX_URI_CHARS = 2048;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** The types a query by example may have: images and audio. */
const QUERY_MEDIA_TYPES = Object.keys(MEDIA_TYPES).filter((type) => MEDIA_TYPES[type] !== 'video');

/** An image or audio type's modality (what a query by example may be), else undefined. */
export function modalityOf(type: string): Modality | undefined {
  const kind = MEDIA_TYPES[mimeEssence(type)];
  return kind === 'video' ? undefined : kind;
}

export function documentFormatOf(type: string): DocumentFormat | undefined {
  return DOCUMENT_TYPES[mimeEssence(type)];
}

/** An image, audio or video type's kind, `document` for a document type, else undefined. */
export function mediaKindOf(type: string): MediaKind | undefined {
  return MEDIA_TYPES[mimeEssence(type)] ?? (documentFormatOf(type) ? 'document' : undefined);
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
 * Checks a query's medium (an image or audio clip) and returns its modality. Exactly one of `data`
 * and `uri`; inline data is base64 of at most `inlineMaxBytes`; a URI is file:// or http(s)://.
 * Reachability is not checked here: the query consumer finds out, and replies with a reason.
 */
export function validateMedia(input: unknown, inlineMaxBytes: number, path = 'media'): { media: MediaRef; modality: Modality } {
  const checked = validateMediaRef(input, inlineMaxBytes, path, modalityOf, QUERY_MEDIA_TYPES);
  return { media: checked.media, modality: checked.kind };
}

/** Checks a document's `media`: an image, audio clip, video or document file (PDF, DOCX, HTML, …). */
export function validateDocumentMedia(input: unknown, inlineMaxBytes: number, path = 'media'): { media: MediaRef; kind: MediaKind } {
  return validateMediaRef(input, inlineMaxBytes, path, mediaKindOf, [...Object.keys(MEDIA_TYPES), ...Object.keys(DOCUMENT_TYPES)]);
}

function validateMediaRef<K extends MediaKind>(
  input: unknown,
  inlineMaxBytes: number,
  path: string,
  kindOf: (type: string) => K | undefined,
  supported: readonly string[],
): { media: MediaRef; kind: K } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ContractError<SchemaErrorCode>('invalid-media', `${path} must be an object { type, data? , uri? }`);
  }
  const media = input as Record<string, unknown>;
  const unknown = Object.keys(media).filter((k) => k !== 'type' && k !== 'data' && k !== 'uri');
  if (unknown.length > 0) throw new ContractError<SchemaErrorCode>('invalid-media', `${path} has unknown field(s): ${unknown.join(', ')}`);
  if (typeof media.type !== 'string' || media.type.trim() === '')
    throw new ContractError<SchemaErrorCode>('invalid-media', `${path}.type must be a MIME type`);
  const kind = kindOf(media.type);
  if (!kind) {
    throw new ContractError<SchemaErrorCode>(
      'unsupported-media-type',
      `${path}.type ${JSON.stringify(media.type.slice(0, 100))} is not supported; supported: ${supported.join(', ')}`,
    );
  }
  if ((media.data === undefined) === (media.uri === undefined))
    throw new ContractError<SchemaErrorCode>('invalid-media', `${path} needs exactly one of data (base64) and uri`);
  if (media.data !== undefined) {
    if (typeof media.data !== 'string' || media.data.length === 0 || media.data.length % 4 === 1 || !BASE64.test(media.data)) {
      throw new ContractError<SchemaErrorCode>('invalid-media', `${path}.data must be non-empty base64`);
    }
    const bytes = base64Bytes(media.data);
    if (bytes > inlineMaxBytes) {
      throw new ContractError<SchemaErrorCode>(
        'media-too-large',
        `${path}.data holds ${bytes} bytes; inline media is limited to ${inlineMaxBytes} bytes: publish it by uri instead`,
      );
    }
    return { media: { type: media.type, data: media.data }, kind };
  }
  if (typeof media.uri !== 'string' || media.uri.length > MAX_URI_CHARS)
    throw new ContractError<SchemaErrorCode>('invalid-media', `${path}.uri must be a string of at most ${MAX_URI_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(media.uri);
  } catch {
    throw new ContractError<SchemaErrorCode>('invalid-media', `${path}.uri is not a URL`);
  }
  if (!['file:', 'http:', 'https:'].includes(url.protocol))
    throw new ContractError<SchemaErrorCode>('invalid-media', `${path}.uri must be file://, http:// or https://, got ${url.protocol}`);
  return { media: { type: media.type, uri: media.uri }, kind };
}
