import { EncoderError } from './encoder-errors.ts';

/** The bytes are not an image or audio clip the decoder can read: the same input fails again. */
export class MediaDecodeError extends EncoderError {
  override readonly name = 'MediaDecodeError';
  override readonly code: string = 'media-undecodable';
}

/** ffmpeg, which decodes audio (and video later), is not installed. */
export class FfmpegMissingError extends EncoderError {
  override readonly name = 'FfmpegMissingError';
  override readonly code: string = 'ffmpeg-missing';
  constructor(cause: unknown) {
    super('ffmpeg is needed to decode audio but was not found on PATH. Install it (Debian: `apt-get install -y ffmpeg`; `infra/bootstrap.sh` does as root).', {
      cause,
    });
  }
}
