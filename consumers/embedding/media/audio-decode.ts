// Any audio (or the audio track of a video) to 16 kHz mono 16-bit samples, by ffmpeg. Bytes are
// piped in; a file path lets ffmpeg seek, which some containers (MP4 with its index at the end) need.
import { spawn } from 'node:child_process';
import { ContractError, UnavailableError, type MediaErrorCode } from '../../../topology/errors.ts';

export interface DecodeAudioOptions {
  readonly sampleRate: number;
  /** Refuse longer audio (decoded samples are held in memory). */
  readonly maxSeconds?: number;
  readonly ffmpegPath?: string;
}

/** ffmpeg (with ffprobe), which decodes audio and video, is not installed (code `ffmpeg-missing`). */
export function ffmpegMissingError(cause: unknown): UnavailableError {
  return new UnavailableError(
    'ffmpeg-missing',
    'ffmpeg (with ffprobe) is needed to decode audio and video but was not found on PATH. Install it (Debian: `apt-get install -y ffmpeg`; `infra/bootstrap.sh` does as root).',
    { cause, retriable: false },
  );
}

export function decodeAudio(input: Buffer | string, options: DecodeAudioOptions): Promise<Int16Array> {
  const { sampleRate, maxSeconds, ffmpegPath = 'ffmpeg' } = options;
  const source = typeof input === 'string' ? input : 'pipe:0';
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    source,
    '-vn',
    '-ac',
    '1',
    '-ar',
    String(sampleRate),
    '-f',
    's16le',
    '-acodec',
    'pcm_s16le',
  ];
  // One second more than allowed, so that "too long" is told apart from "exactly the limit".
  if (maxSeconds !== undefined) args.push('-t', String(maxSeconds + 1));
  args.push('pipe:1');
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: [typeof input === 'string' ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? ffmpegMissingError(error) : error));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(
          new ContractError<MediaErrorCode>(
            'media-undecodable',
            `ffmpeg could not decode the audio (exit ${code}): ${stderr.trim() || 'no message'}`,
          ),
        );
        return;
      }
      const bytes = Buffer.concat(chunks);
      const samples = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(2 * i);
      if (samples.length === 0) reject(new ContractError<MediaErrorCode>('media-undecodable', 'the input holds no audio samples'));
      else if (maxSeconds !== undefined && samples.length > maxSeconds * sampleRate) {
        reject(new ContractError<MediaErrorCode>('media-undecodable', `the audio is longer than the ${maxSeconds} s allowed`));
      } else resolve(samples);
    });
    if (child.stdin) {
      // ffmpeg may stop reading early (it has what it needs, or failed): that is not our error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input as Buffer);
    }
  });
}
