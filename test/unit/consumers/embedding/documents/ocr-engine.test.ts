import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { OcrEngine } from '../../../../../consumers/embedding/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';
import { ContractError, DEFAULT_OCR_MIN_CONFIDENCE } from '../../../../../topology/index.ts';

// Real tesseract.js with the English model from @tesseract.js-data/eng (read from node_modules).
const FIXTURES = new URL('../../../../fixtures/', import.meta.url);
const engine = new OcrEngine({ minConfidence: DEFAULT_OCR_MIN_CONFIDENCE });
after(() => engine.close());

describe('OcrEngine (tesseract.js)', () => {
  it('reads the text of a screenshot line by line', async () => {
    const result = await engine.recognize(await readFile(new URL('documents/backup-error.png', FIXTURES)));
    // Whole lines; a neighbouring sidebar word may be read into the same line (the heading is).
    const lines = result.text.split('\n');
    assert.ok(
      lines.some((line) => line.endsWith('Backup failed at 02:14')),
      result.text,
    );
    for (const expected of [
      'The nightly backup of the photo library could not be written:',
      'the external drive LIGHTHOUSE is full (0 bytes free of 2 TB).',
      'then press Retry. Your photos have not been changed.',
    ]) {
      assert.ok(lines.includes(expected), `missing line ${JSON.stringify(expected)} in\n${result.text}`);
    }
    assert.ok(result.kept >= 8 && result.kept <= result.lines, `${result.kept} of ${result.lines} lines kept`);
  });

  it('reads as good as nothing in photos: only lines it is confident about are kept', async () => {
    const dir = new URL('media/photos/', FIXTURES);
    const photos = (await readdir(dir)).filter((f) => f.endsWith('.jpg'));
    assert.equal(photos.length, 6);
    let found = 0;
    let kept = 0;
    for (const photo of photos) {
      const result = await engine.recognize(await readFile(new URL(photo, dir)));
      found += result.lines;
      kept += result.kept;
    }
    // Tesseract does "see" glyphs in the photos (texture, leaves, fur); none is confident enough.
    assert.ok(found > 10, `${found} lines found`);
    assert.equal(kept, 0);
  });

  it('with a confidence floor of 0 keeps what it found in a photo', async () => {
    const lenient = new OcrEngine({ minConfidence: 0 });
    try {
      const result = await lenient.recognize(await readFile(new URL('media/photos/dogs.jpg', FIXTURES)));
      assert.ok(result.kept > 0 && result.text !== '');
    } finally {
      await lenient.close();
    }
  });

  it('refuses bytes that are not an image as media-undecodable', async () => {
    await assert.rejects(engine.recognize(Buffer.from('not an image')), errorOf(ContractError, 'media-undecodable'));
  });
});
