// Text inside images (screenshots, scans) with tesseract.js: Tesseract's LSTM engine compiled to
// WebAssembly, run in a worker thread, with the English model of the npm package
// @tesseract.js-data/eng read from node_modules (never fetched: no network at run time).
// Photos give scattered low-confidence glyphs, so only lines Tesseract is confident about are kept.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Line, Worker } from 'tesseract.js';
import { DEFAULT_OCR_MIN_CONFIDENCE } from '../../../topology/index.ts';
import { ContractError, UnavailableError, type MediaErrorCode } from '../../../topology/errors.ts';

const require = createRequire(import.meta.url);

/** Longest side an image is OCR'd at: a 4K screenshot or an A4 page at 400 dpi fits. */
const MAX_SIDE_PX = 5000;

export interface OcrOptions {
  /** Lines whose mean confidence (0-100) is below this are dropped. */
  readonly minConfidence?: number;
}

export interface OcrResult {
  /** The kept lines, one per line, paragraphs separated by a blank line; '' when none was kept. */
  text: string;
  /** Lines Tesseract found, and lines kept. */
  lines: number;
  kept: number;
}

/** The directory holding eng.traineddata.gz: the LSTM-only integer model (fast, small). */
function engLangPath(): string {
  const dataPackage = require.resolve('@tesseract.js-data/eng/package.json');
  return join(dataPackage, '..', '4.0.0_best_int');
}

export class OcrEngine {
  private worker: Promise<Worker> | undefined;
  private readonly minConfidence: number;
  /** One recognition at a time: the engine is one WebAssembly instance in one worker thread. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: OcrOptions = {}) {
    this.minConfidence = options.minConfidence ?? DEFAULT_OCR_MIN_CONFIDENCE;
  }

  /** The confident text lines of one image (JPEG, PNG, WebP: whatever sharp decodes). */
  async recognize(bytes: Buffer): Promise<OcrResult> {
    let png: Buffer;
    try {
      // Greyscale PNG: one decoder (sharp's) for every format, and what Tesseract reads best; huge
      // images are scaled down to a size the engine's WebAssembly memory holds.
      png = await sharp(bytes)
        .resize({ width: MAX_SIDE_PX, height: MAX_SIDE_PX, fit: 'inside', withoutEnlargement: true })
        .greyscale()
        .png()
        .toBuffer();
    } catch (error) {
      throw new ContractError<MediaErrorCode>('media-undecodable', `not an image sharp can decode for OCR: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const worker = await this.load();
    const recognized = this.queue.then(() => worker.recognize(png, {}, { text: false, blocks: true }));
    this.queue = recognized.catch(() => undefined);
    let data;
    try {
      ({ data } = await recognized);
    } catch (error) {
      // The image decoded, so the engine failed (its worker died): start a new one, retry the batch.
      if (this.worker) void this.close().catch(() => undefined);
      throw new UnavailableError('encoder-failed', `OCR (tesseract.js) failed: ${(error as Error).message}`, {
        cause: error,
        retriable: false,
      });
    }
    const paragraphs = (data.blocks ?? []).flatMap((block) => block.paragraphs);
    let lines = 0;
    let kept = 0;
    const text = paragraphs
      .map((paragraph) => {
        lines += paragraph.lines.length;
        const good = paragraph.lines.filter((line) => this.keeps(line));
        kept += good.length;
        return good.map((line) => line.text.trim()).join('\n');
      })
      .filter((paragraph) => paragraph !== '')
      .join('\n\n');
    return { text, lines, kept };
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker)
      await worker.then(
        (w) => w.terminate(),
        () => undefined,
      );
  }

  private keeps(line: Line): boolean {
    // A confident line of stray symbols ("| |", "—") or a lone syllable ("re", in a photo of a
    // flower) is still no text to index: a line needs a word of three letters or more.
    return line.confidence >= this.minConfidence && /\p{L}{3}/u.test(line.text);
  }

  private load(): Promise<Worker> {
    // Loaded on first use; the engine, not the image, failing is an UnavailableError `encoder-failed` (the batch is retried, not dead-lettered).
    this.worker ??= import('tesseract.js')
      .then(({ createWorker, OEM }) => createWorker('eng', OEM.LSTM_ONLY, { langPath: engLangPath(), gzip: true, cacheMethod: 'none' }))
      .catch((error: unknown) => {
        throw new UnavailableError('encoder-failed', `the OCR engine (tesseract.js) did not start: ${(error as Error).message}`, {
          cause: error,
          retriable: false,
        });
      });
    this.worker.catch(() => (this.worker = undefined));
    return this.worker;
  }
}
