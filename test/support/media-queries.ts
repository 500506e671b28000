import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';

// Queries by example made from the media fixtures (test/fixtures/media): never the indexed bytes
// themselves, so a hit shows the embedding matched the content, not the file.
export const MEDIA_FIXTURES = new URL('../fixtures/media/', import.meta.url);

/** A fixture photo cropped to its central 70 %, flipped and saved as JPEG quality 40, as base64. */
export async function transformedPhoto(name: string): Promise<string> {
  const original = await readFile(new URL(`photos/${name}.jpg`, MEDIA_FIXTURES));
  const meta = await sharp(original).metadata();
  const [width, height] = [Math.round(meta.width * 0.7), Math.round(meta.height * 0.7)];
  const region = { left: Math.round((meta.width - width) / 2), top: Math.round((meta.height - height) / 2), width, height };
  return (await sharp(original).extract(region).flop().jpeg({ quality: 40 }).toBuffer()).toString('base64');
}

/** Phrase `phrase` spoken in the fixtures' second voice, re-encoded as Ogg Vorbis (small enough to go inline), as base64. */
export async function otherVoiceOgg(phrase: number): Promise<string> {
  const wav = fileURLToPath(new URL(`speech/phrase${phrase}-voice2.wav`, MEDIA_FIXTURES));
  const args = ['-nostdin', '-loglevel', 'error', '-i', wav, '-c:a', 'libvorbis', '-q:a', '2', '-f', 'ogg', 'pipe:1'];
  const { stdout } = await promisify(execFile)('ffmpeg', args, { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
  return stdout.toString('base64');
}
