import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { transformImage, type ImageTransform } from '../../bench/media/image-transforms.ts';
import { INDEXED_VOICING, noiseGain, parseRmsDb, QUERY_VARIANTS } from '../../bench/media/speech-set.ts';

// The query side of the media benchmark: the image transforms do what their names say, on a real
// fixture photo; the noise level arithmetic and the sox stats parsing are right.
const photo = (): Promise<Buffer> => readFile(new URL('../../fixtures/media/photos/ladybird.jpg', import.meta.url));

async function pixels(image: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(image).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
const mean = (data: Buffer): number => data.reduce((sum, v) => sum + v, 0) / data.length;

describe('media benchmark query makers', () => {
  it('crops to the centre 70%, halves the size, and keeps the size otherwise', async () => {
    const original = await photo();
    const { width, height } = await sharp(original).metadata();
    const size = async (t: ImageTransform): Promise<[number, number]> => {
      const m = await sharp(await transformImage(original, t)).metadata();
      return [m.width, m.height];
    };
    assert.deepEqual(await size('crop-70'), [Math.round(width * 0.7), Math.round(height * 0.7)]);
    assert.deepEqual(await size('half-size'), [Math.round(width / 2), Math.round(height / 2)]);
    for (const t of ['flip', 'jpeg-q30', 'brighter-25', 'darker-25'] as const) assert.deepEqual(await size(t), [width, height], t);
  });

  it('flips left to right, changes brightness by about a quarter, and compresses harder at quality 30', async () => {
    const original = await photo();
    const base = await pixels(original);
    const flipped = await pixels(await transformImage(original, 'flip'));
    // The left column of the flip is the right column of the original (within JPEG noise).
    let diffFlip = 0;
    let diffSame = 0;
    for (let y = 0; y < base.height; y++) {
      diffFlip += Math.abs(flipped.data[y * base.width]! - base.data[y * base.width + base.width - 1]!);
      diffSame += Math.abs(flipped.data[y * base.width]! - base.data[y * base.width]!);
    }
    assert.ok(diffFlip < diffSame / 4, `flip: ${diffFlip} vs unflipped ${diffSame}`);
    const brighter = mean((await pixels(await transformImage(original, 'brighter-25'))).data) / mean(base.data);
    const darker = mean((await pixels(await transformImage(original, 'darker-25'))).data) / mean(base.data);
    assert.ok(brighter > 1.12 && brighter < 1.26, `brighter: x${brighter}`); // clipping at 255 keeps it under 1.25
    assert.ok(Math.abs(darker - 0.75) < 0.02, `darker: x${darker}`);
    const q30 = await transformImage(original, 'jpeg-q30');
    const q90 = await transformImage(original, 'flip');
    assert.ok(q30.length < q90.length * 0.6, `quality 30 is ${q30.length} bytes, quality 90 ${q90.length}`);
  });

  it('sets the noise gain from the RMS levels for the wanted signal-to-noise ratio', () => {
    // Speech at -20 dBFS, noise at -5 dBFS, 10 dB SNR: noise must come down to -30 dBFS, i.e. by 25 dB.
    assert.ok(Math.abs(noiseGain(-20, -5, 10) - 10 ** (-25 / 20)) < 1e-12);
    assert.ok(Math.abs(noiseGain(-20, -20, 0) - 1) < 1e-12);
  });

  it('reads the RMS level from sox stats output and refuses silence', () => {
    const stats = [
      'DC offset   0.000012',
      'Min level  -0.612',
      'Max level   0.655',
      'Pk lev dB      -3.68',
      'RMS lev dB    -19.42',
      'RMS Pk dB     -11.90',
    ].join('\n');
    assert.equal(parseRmsDb(stats), -19.42);
    assert.throws(() => parseRmsDb('RMS lev dB      -inf\n'), /no RMS level/);
  });

  it('queries only in voices other than the indexed one', () => {
    for (const [name, v] of Object.entries(QUERY_VARIANTS)) assert.notEqual(v.voice, INDEXED_VOICING.voice, name);
  });
});
