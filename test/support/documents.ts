// Document files made by the tests: a DOCX (jszip, the OOXML parts Word needs), a PDF written
// object by object (Helvetica text, optionally marked as password-protected, or with drawings and no
// text), and an HTML page with the noise real pages carry (navigation, scripts, styles, entities).
import { deflateSync } from 'node:zlib';
import JSZip from 'jszip';
import sharp from 'sharp';

const W_NS = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A DOCX whose body holds the paragraphs; a paragraph starting with '# ' is a Heading1. */
export async function docxFile(paragraphs: readonly string[]): Promise<Buffer> {
  const body = paragraphs
    .map((p) =>
      p.startsWith('# ')
        ? `<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t xml:space="preserve">${xmlEscape(p.slice(2))}</w:t></w:r></w:p>`
        : `<w:p><w:r><w:t xml:space="preserve">${xmlEscape(p)}</w:t></w:r></w:p>`,
    )
    .join('');
  const zip = new JSZip();
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
  );
  zip.file(
    '_rels/.rels',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
  );
  zip.file(
    'word/document.xml',
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="${W_NS}"><w:body>${body}</w:body></w:document>`,
  );
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

function pdfString(text: string): string {
  return `(${text.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

export interface PdfOptions {
  /** Adds a standard-security /Encrypt dictionary whose user password is not empty. */
  encrypted?: boolean;
}

/** A one-page PDF that is only a picture of a page (a scan): the image in 8-bit grey, no text layer. */
export async function scannedPdf(image: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(image).greyscale().raw().toBuffer({ resolveWithObject: true });
  const pixels = deflateSync(data);
  const [width, height] = [info.width, info.height];
  const content = `q ${width * 0.5} 0 0 ${height * 0.5} 0 0 cm /Im1 Do Q`;
  const parts: Array<string | Buffer> = [
    '%PDF-1.4\n',
    '1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n',
    `2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n`,
    `3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${width * 0.5} ${height * 0.5}] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>\nendobj\n`,
    `4 0 obj\n<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length ${pixels.length} >>\nstream\n`,
    pixels,
    '\nendstream\nendobj\n',
    `5 0 obj\n<< /Length ${content.length} >>\nstream\n${content}\nendstream\nendobj\n`,
  ];
  const offsets: number[] = [];
  let length = 0;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const chunk = typeof part === 'string' ? Buffer.from(part, 'latin1') : part;
    if (typeof part === 'string' && / 0 obj\n/.test(part)) offsets.push(length);
    chunks.push(chunk);
    length += chunk.length;
  }
  const trailer = `xref\n0 6\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
  return Buffer.concat([...chunks, Buffer.from(trailer, 'latin1')]);
}

/**
 * A PDF with one page per entry: each entry's lines set in 12 pt Helvetica; an empty entry is a
 * page that only draws a rectangle (a scan would be an image: no text layer either way).
 */
export function pdfFile(pages: ReadonlyArray<readonly string[]>, options: PdfOptions = {}): Buffer {
  const objects: string[] = [];
  const add = (body: string): number => objects.push(body);
  const catalog = add('');
  const pagesObject = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const kids: number[] = [];
  for (const lines of pages) {
    const content =
      lines.length === 0
        ? '0.5 g 72 400 300 200 re f'
        : `BT /F1 12 Tf 72 720 Td 16 TL ${lines.map((line, i) => `${i === 0 ? '' : 'T* '}${pdfString(line)} Tj`).join(' ')} ET`;
    const stream = add(`<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent ${pagesObject} 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${stream} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObject} 0 R >>`;
  objects[pagesObject - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  const id = '0123456789abcdef0123456789abcdef';
  const encrypt = options.encrypted
    ? add(`<< /Filter /Standard /V 1 /R 2 /O <${'7a'.repeat(32)}> /U <${'5c'.repeat(32)}> /P -44 >>`)
    : null;

  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R /ID [<${id}> <${id}>]${encrypt ? ` /Encrypt ${encrypt} 0 R` : ''} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** An HTML page: the article's paragraphs inside navigation, a script and a style that must not be indexed. */
export function htmlPage(title: string, paragraphs: readonly string[], noise = 'volcanic ash cloud grounded every flight'): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${xmlEscape(title)}</title>
<style>body { font-family: serif } .x::after { content: "${noise}" }</style>
<script>window.banner = "${noise}"; console.log("${noise}");</script></head>
<body><nav><a href="/">Home</a> &middot; <a href="/archive">Archive</a></nav>
<main><article><h1>${xmlEscape(title)}</h1>
${paragraphs.map((p) => `<p>${xmlEscape(p)}</p>`).join('\n')}
</article></main>
<noscript>${noise}</noscript>
<footer>&copy; 2026 Example &amp; Co.</footer></body></html>`;
}
