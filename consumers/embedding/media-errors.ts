import { EncoderError } from './encoder-errors.ts';

/** The bytes are not an image or audio clip the decoder can read: the same input fails again. */
export class MediaDecodeError extends EncoderError {
  override readonly name: string = 'MediaDecodeError';
  override readonly code: string = 'media-undecodable';
}

/** ffmpeg, which decodes audio (and video later), is not installed. */
export class FfmpegMissingError extends EncoderError {
  override readonly name = 'FfmpegMissingError';
  override readonly code: string = 'ffmpeg-missing';
  constructor(cause: unknown) {
    super('ffmpeg (with ffprobe) is needed to decode audio and video but was not found on PATH. Install it (Debian: `apt-get install -y ffmpeg`; `infra/bootstrap.sh` does as root).', {
      cause,
    });
  }
}

/** The medium's uri could not be read (no such file, refused, HTTP error, timeout): dead-lettered with the reason. */
export class MediaUnreachableError extends MediaDecodeError {
  override readonly name = 'MediaUnreachableError';
  override readonly code: string = 'media-unreachable';
}

/** A file:// uri outside SEARCHBUS_MEDIA_FILE_ROOTS, or an http(s) uri to a host or address the SEARCHBUS_MEDIA_URL_* settings do not allow: never read, whoever sent it. */
export class MediaForbiddenError extends MediaDecodeError {
  override readonly name = 'MediaForbiddenError';
  override readonly code: string = 'media-forbidden';
}

/** The medium read from its uri is larger than SEARCHBUS_MEDIA_FETCH_MAX_BYTES. */
export class MediaTooLargeError extends MediaDecodeError {
  override readonly name = 'MediaTooLargeError';
  override readonly code: string = 'media-too-large';
}

/** The content of a document or query cannot be embedded: the same bytes fail again (poison, never retried). */
export function isMediaContentError(error: unknown): error is MediaDecodeError {
  return error instanceof MediaDecodeError;
}

/** A document file (PDF, DOCX, HTML, …) that its extractor cannot read: corrupt, truncated, or not that format. */
export class DocumentUndecodableError extends MediaDecodeError {
  override readonly name: string = 'DocumentUndecodableError';
  override readonly code: string = 'document-undecodable';
}

/** A password-protected document: its text cannot be read without the password. */
export class DocumentEncryptedError extends DocumentUndecodableError {
  override readonly name = 'DocumentEncryptedError';
  override readonly code: string = 'document-encrypted';
}

/** A readable document with no text to index (a scanned PDF without a text layer, an empty page). */
export class DocumentNoTextError extends DocumentUndecodableError {
  override readonly name = 'DocumentNoTextError';
  override readonly code: string = 'document-no-text';
}
