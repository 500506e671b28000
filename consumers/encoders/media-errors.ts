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

/** The medium read from its uri is larger than SEARCHBUS_MEDIA_FETCH_MAX_BYTES. */
export class MediaTooLargeError extends MediaDecodeError {
  override readonly name = 'MediaTooLargeError';
  override readonly code: string = 'media-too-large';
}

/** The content of a document or query cannot be embedded: the same bytes fail again (poison, never retried). */
export function isMediaContentError(error: unknown): error is MediaDecodeError {
  return error instanceof MediaDecodeError;
}
