import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { cleanText, extractDocument, OcrEngine } from '../../../../../consumers/embedding/index.ts';
import { ContractError } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';
import { docxFile, htmlPage, pdfFile, scannedPdf } from '../../../../support/documents.ts';

const SPEC_PDF = new URL('../../../../fixtures/documents/shared-mime-info-spec.pdf', import.meta.url);
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

const rejectsWith = (code: string) => errorOf(ContractError, code);

describe('extractDocument: PDF (pdfjs-dist)', () => {
  it("gives one segment per page of a real PDF, each with its page number and that page's text", async () => {
    const segments = await extractDocument('application/pdf', await readFile(SPEC_PDF));
    assert.deepEqual(
      segments.map((s) => s.page),
      Array.from({ length: 17 }, (_, i) => i + 1),
    );
    // Each page's text ends with the page number printed in its footer: the segment is that page.
    assert.deepEqual(
      segments.map((s) => s.text.split('\n').at(-1)),
      segments.map((s) => String(s.page)),
    );
    assert.match(segments[0]!.text, /^Shared MIME-info Database\nX Desktop Group/);
    assert.match(segments[13]!.text, /2\.10\. Storing the MIME type using Extended Attributes/);
    assert.match(segments[15]!.text, /Mounted directories can be detected by comparing the\n’st_dev’ of a directory/);
    assert.doesNotMatch(segments[15]!.text, /Extended Attributes/);
  });

  it('keeps the page numbers of the pages around a page without text, which is left out', async () => {
    const pdf = pdfFile([['The ferry to the island leaves at dawn.'], [], ['Tickets are sold on board (cash only).', 'Dogs travel free.']]);
    const segments = await extractDocument('application/pdf', pdf);
    assert.deepEqual(segments, [
      { page: 1, text: 'The ferry to the island leaves at dawn.' },
      { page: 3, text: 'Tickets are sold on board (cash only).\nDogs travel free.' },
    ]);
  });

  it('refuses a PDF without any text layer as document-no-text', async () => {
    await assert.rejects(extractDocument('application/pdf', pdfFile([[], []])), rejectsWith('document-no-text'));
  });

  it('refuses a password-protected PDF as document-encrypted', async () => {
    await assert.rejects(
      extractDocument('application/pdf', pdfFile([['secret minutes']], { encrypted: true })),
      rejectsWith('document-encrypted'),
    );
  });

  it('refuses bytes that are not a PDF, and a PDF cut short, as document-undecodable', async () => {
    await assert.rejects(extractDocument('application/pdf', Buffer.from('GIF89a not a pdf at all')), rejectsWith('document-undecodable'));
    const cut = (await readFile(SPEC_PDF)).subarray(0, 600);
    await assert.rejects(extractDocument('application/pdf', cut), rejectsWith('document-undecodable'));
  });
});

describe('extractDocument: DOCX (mammoth)', () => {
  it('gives the paragraphs of a DOCX, one per line, as one segment without a page', async () => {
    const docx = await docxFile([
      '# Wintering bees',
      'Insulate the hive & leave it 15 kg of honey.',
      'Check the entrance <weekly> for dead bees.',
    ]);
    const segments = await extractDocument(DOCX, docx);
    assert.equal(segments.length, 1);
    assert.equal(segments[0]!.page, undefined);
    assert.equal(
      segments[0]!.text,
      'Wintering bees\n\nInsulate the hive & leave it 15 kg of honey.\n\nCheck the entrance <weekly> for dead bees.',
    );
  });

  it('refuses a file that is not a DOCX (not a zip, a zip without a document, an OLE file) as document-undecodable', async () => {
    await assert.rejects(extractDocument(DOCX, Buffer.from('plain words, not a zip')), rejectsWith('document-undecodable'));
    const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504)]);
    await assert.rejects(
      extractDocument(DOCX, ole),
      errorOf(ContractError, 'document-undecodable', /legacy \.doc, or a password-protected DOCX/),
    );
  });

  it('refuses a DOCX with an empty body as document-no-text', async () => {
    await assert.rejects(extractDocument(DOCX, await docxFile([])), rejectsWith('document-no-text'));
  });
});

describe('extractDocument: HTML (html-to-text)', () => {
  it('keeps the headings and paragraphs, drops scripts, styles, noscript and link targets, decodes entities', async () => {
    const html = htmlPage('Feeding a sourdough starter', [
      'Feed it equal weights of flour & water every day.',
      'Keep it at 24 °C; discard half before feeding.',
    ]);
    const [segment] = await extractDocument('text/html; charset=utf-8', Buffer.from(html));
    const text = segment!.text;
    assert.match(text, /Feeding a sourdough starter/);
    assert.match(text, /Feed it equal weights of flour & water every day\./);
    assert.match(text, /Keep it at 24 °C; discard half before feeding\./);
    assert.match(text, /© 2026 Example & Co\./);
    assert.doesNotMatch(text, /volcanic|window\.banner|font-family|\/archive/);
  });

  it('refuses HTML that is not UTF-8 as document-undecodable', async () => {
    await assert.rejects(
      extractDocument('text/html', Buffer.from([0x3c, 0x70, 0x3e, 0xe9, 0x74, 0xe9])),
      rejectsWith('document-undecodable'),
    );
  });
});

describe('extractDocument: Markdown and plain text', () => {
  it('takes them as they are (a BOM dropped)', async () => {
    const md = '# Tides\n\nSpring tides follow the *new* and the full moon.\n';
    assert.deepEqual(await extractDocument('text/markdown', Buffer.from(`\ufeff${md}`)), [{ text: md }]);
    assert.deepEqual(await extractDocument('text/plain', Buffer.from('one line')), [{ text: 'one line' }]);
  });

  it('refuses a blank file as document-no-text', async () => {
    await assert.rejects(extractDocument('text/plain', Buffer.from(' \n\t\n')), rejectsWith('document-no-text'));
  });
});

describe('cleanText', () => {
  it('turns control characters into spaces and lone surrogates into U+FFFD, keeping line breaks, tabs and surrogate pairs', () => {
    assert.equal(cleanText('a\u0000b\fc\nd\te\ud800f😀'), 'a b c\nd\te\ufffdf😀');
  });
});

describe('extractDocument: scanned PDF pages, by OCR', () => {
  it('reads a page without a text layer by rendering it and running OCR on it, when OCR is given', async () => {
    const scan = await scannedPdf(await readFile(new URL('../../../../fixtures/documents/backup-error.png', import.meta.url)));
    // Without OCR, a scan has no text.
    await assert.rejects(extractDocument('application/pdf', scan), errorOf(ContractError, 'document-no-text', /OCR is off/));
    const engine = new OcrEngine();
    try {
      const [segment, ...rest] = await extractDocument('application/pdf', scan, { ocr: async (png) => (await engine.recognize(png)).text });
      assert.equal(rest.length, 0);
      assert.equal(segment!.page, 1);
      assert.match(segment!.text, /the external drive LIGHTHOUSE is full/);
    } finally {
      await engine.close();
    }
  });
});
