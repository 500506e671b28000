// PDF -> text per page with pdfjs-dist (Mozilla's PDF reader), from each page's text layer; no
// scripts evaluated. A page without a text layer (a scan) is rendered (pdfjs on its Node canvas,
// @napi-rs/canvas) and read by OCR when an OCR function is given, else it yields ''.
import type { PDFDocumentProxy, PDFPageProxy, TextItem, TextMarkedContent } from 'pdfjs-dist/types/src/display/api.js';
import { ContractError, isMediaContentError, type MediaErrorCode } from '../../../topology/errors.ts';

export interface PageText {
  /** 1-based. */
  page: number;
  text: string;
  /** The page had no text layer: its text was read by OCR from the rendered page. */
  ocr?: boolean;
}

export interface PdfOptions {
  /** Reads the text of a rendered page (a PNG); given, pages without a text layer are OCR'd. */
  ocr?: (png: Buffer) => Promise<string>;
  /** Resolution scanned pages are rendered at for OCR. */
  ocrDpi?: number;
}

/**
 * Scans are rendered at 150 dpi for OCR: on the fixture PDF's pages it read 98.5% of the text
 * layer's words, against 92.6% at 100 dpi and 99.1% at 200 dpi for 10% more time
 * (test/bench/document-throughput.ts; README "Documents and OCR").
 */
const DEFAULT_OCR_DPI = 150;

export async function pdfPages(bytes: Uint8Array, options: PdfOptions = {}): Promise<PageText[]> {
  // Loaded on first use (2 MB of JavaScript): a process that never sees a PDF never parses it.
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  // pdfjs takes ownership of (and detaches) the buffer it is given: hand it a copy.
  const task = getDocument({
    data: new Uint8Array(bytes),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
    verbosity: 0,
  });
  let document;
  try {
    document = await task.promise;
  } catch (error) {
    await task.destroy().catch(() => undefined);
    const name = (error as { name?: unknown }).name;
    if (name === 'PasswordException')
      throw new ContractError<MediaErrorCode>('document-encrypted', `the PDF is password-protected: ${(error as Error).message}`, {
        cause: error,
      });
    throw new ContractError<MediaErrorCode>('document-undecodable', `not a readable PDF: ${(error as Error).message}`, { cause: error });
  }
  try {
    const pages: PageText[] = [];
    for (let page = 1; page <= document.numPages; page++) {
      const proxy = await document.getPage(page);
      const text = joinItems((await proxy.getTextContent()).items);
      const scanned =
        text === '' && options.ocr ? await options.ocr(await renderPage(document, proxy, options.ocrDpi ?? DEFAULT_OCR_DPI)) : '';
      pages.push({ page, text: text || scanned, ...(scanned ? { ocr: true } : {}) });
    }
    return pages;
  } catch (error) {
    if (isMediaContentError(error)) throw error;
    throw new ContractError<MediaErrorCode>('document-undecodable', `the PDF's text could not be read: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await document.destroy().catch(() => undefined);
  }
}

/** Text runs in content order; a run that ends its line gets a newline, so words never fuse across lines. */
function joinItems(items: ReadonlyArray<TextItem | TextMarkedContent>): string {
  let text = '';
  for (const item of items) {
    if (!('str' in item)) continue;
    text += item.str;
    if (item.hasEOL) text += '\n';
  }
  return text.replace(/[ \t]+\n/g, '\n').trim();
}

interface NodeCanvas {
  canvas: { toBuffer(type: 'image/png'): Buffer };
  context: unknown;
}

/** A page as a PNG at `dpi`, drawn by pdfjs on the canvas of its Node build (@napi-rs/canvas). */
export async function renderPage(document: PDFDocumentProxy, page: PDFPageProxy, dpi: number): Promise<Buffer> {
  const viewport = page.getViewport({ scale: dpi / 72 });
  let drawn: NodeCanvas;
  try {
    drawn = (document.canvasFactory as { create(width: number, height: number): NodeCanvas }).create(
      Math.ceil(viewport.width),
      Math.ceil(viewport.height),
    );
  } catch (error) {
    throw new ContractError<MediaErrorCode>(
      'document-undecodable',
      `a page without a text layer could not be rendered for OCR (is @napi-rs/canvas installed?): ${(error as Error).message}`,
      { cause: error },
    );
  }
  await page.render({ canvasContext: drawn.context as never, viewport }).promise;
  return drawn.canvas.toBuffer('image/png');
}
