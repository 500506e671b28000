import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { renderPage } from '../../../consumers/embedding/index.ts';

/** Each page of a PDF as a PNG at `dpi`, rendered as the extractor renders scanned pages for OCR. */
export async function renderPages(bytes: Buffer, dpi: number): Promise<Buffer[]> {
  const document = await getDocument({ data: new Uint8Array(bytes), verbosity: 0 }).promise;
  const images: Buffer[] = [];
  for (let n = 1; n <= document.numPages; n++) images.push(await renderPage(document, await document.getPage(n), dpi));
  await document.destroy();
  return images;
}
