// Pages per second of each document extractor and of OCR, measured side by side in one process with
// the load average stamped, next to the text model embedding the same pages (the baseline the
// ratios are taken against): the figures behind extracting in the media group, off the text path.
// OCR runs on the real PDF's pages rendered at each --dpi (a scan of them), and its text is checked
// against the PDF's own text layer (the share of the layer's words it read): the figures behind the
// resolution scanned pages are rendered at (DEFAULT_OCR_DPI).
// Run: node --import tsx test/bench/document-throughput.ts [--rounds 3] [--dpi 100,150,200]
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { documentEncoder, extractDocument, OcrEngine } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { DEFAULT_MODEL_ID, DEFAULT_OCR_MIN_CONFIDENCE, getModelSpec } from '../../topology/index.ts';
import { docxFile, htmlPage } from '../support/documents.ts';
import { renderPages } from './media/scanned-pages.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, dpi: { type: 'string', default: '100,150,200' } } });
const rounds = Number(values.rounds);
const resolutions = values.dpi.split(',').map(Number);
const fixtures = new URL('../fixtures/documents/', import.meta.url);
const pdf = await readFile(new URL('shared-mime-info-spec.pdf', fixtures));
const screenshot = await readFile(new URL('backup-error.png', fixtures));
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

// The same words in each format: the PDF's pages, as DOCX paragraphs and as HTML paragraphs.
const pages = await extractDocument('application/pdf', pdf);
const paragraphs = pages.flatMap((p) => p.text.split('\n'));
const docx = await docxFile(paragraphs);
const html = Buffer.from(htmlPage('Shared MIME-info Database', paragraphs));
const scans = new Map<number, Buffer[]>();
for (const dpi of resolutions) scans.set(dpi, await renderPages(pdf, dpi));

const onnx = await loadEncoder(getModelSpec(DEFAULT_MODEL_ID));
const text = documentEncoder(onnx);
const ocr = new OcrEngine({ minConfidence: DEFAULT_OCR_MIN_CONFIDENCE });

interface Rate {
  label: string;
  unit: string;
  perSecond: number;
}

async function rate(label: string, unit: string, items: number, run: () => Promise<unknown>): Promise<Rate> {
  await run(); // warm-up (loads the model, the OCR engine)
  const started = performance.now();
  for (let i = 0; i < rounds; i++) await run();
  return { label, unit, perSecond: (items * rounds) / ((performance.now() - started) / 1000) };
}

const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const baseline = await rate(`embed the extracted pages (${DEFAULT_MODEL_ID}, chunked)`, 'pages/s', pages.length, () =>
  text.encodeDocuments(pages.map((p) => p.text)),
);
const results = [
  baseline,
  await rate('PDF text layer (pdfjs-dist, 17-page spec)', 'pages/s', pages.length, () => extractDocument('application/pdf', pdf)),
  await rate(`DOCX (mammoth, the same ${paragraphs.length} paragraphs)`, 'pages/s', pages.length, () => extractDocument(DOCX, docx)),
  await rate('HTML (html-to-text, the same paragraphs)', 'pages/s', pages.length, () => extractDocument('text/html', html)),
  await rate('OCR, a 760x330 screenshot', 'images/s', 1, () => ocr.recognize(screenshot)),
];

// OCR of the scans, one timed pass per resolution (the engine is warm from the screenshot), and
// its quality: the share of the text layer's words (3+ letters) it read on each page.
const accuracy: string[] = [];
for (const dpi of resolutions) {
  let found = 0;
  let total = 0;
  const started = performance.now();
  for (const [i, scan] of scans.get(dpi)!.entries()) {
    const read = new Set(words((await ocr.recognize(scan)).text));
    const expected = words(pages[i]!.text);
    total += expected.length;
    found += expected.filter((w) => read.has(w)).length;
  }
  const perSecond = pages.length / ((performance.now() - started) / 1000);
  results.push({ label: `OCR, the PDF's pages scanned at ${dpi} dpi (tesseract.js, eng best_int)`, unit: 'pages/s', perSecond });
  accuracy.push(`${dpi} dpi: ${found} of ${total} text-layer words read (${((100 * found) / total).toFixed(1)}%)`);
}
await ocr.close();
await onnx.close();

process.stdout.write(
  `load average at start: ${load}; after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; rounds: ${rounds}\n`,
);
for (const r of results) {
  process.stdout.write(
    `${r.label.padEnd(72)} ${r.perSecond.toFixed(2).padStart(8)} ${r.unit.padEnd(9)} ${(r.perSecond / baseline.perSecond).toFixed(2)}x embedding\n`,
  );
}
for (const line of accuracy) process.stdout.write(`OCR of the scans at ${line}\n`);

function words(text: string): string[] {
  return text.toLowerCase().match(/\p{L}{3,}/gu) ?? [];
}
