// DOCX -> text with mammoth: the body's paragraphs (tables, lists, footnotes included), one per
// line, as Word lays them out; a DOCX has no fixed pages, so its text is one segment.
import { ContractError, type MediaErrorCode } from '../../../topology/errors.ts';

/** An OLE compound file: a legacy .doc, or an encrypted OOXML (password-protected) document. */
const OLE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

export async function docxText(bytes: Buffer): Promise<string> {
  if (bytes.subarray(0, 8).equals(OLE_MAGIC)) {
    throw new ContractError<MediaErrorCode>(
      'document-undecodable',
      'an OLE compound file (a legacy .doc, or a password-protected DOCX), not a DOCX',
    );
  }
  // Loaded on first use, like every extractor.
  const mammoth = (await import('mammoth')).default;
  try {
    const { value } = await mammoth.extractRawText({ buffer: bytes });
    return value.replace(/\n{3,}/g, '\n\n').trim();
  } catch (error) {
    throw new ContractError<MediaErrorCode>('document-undecodable', `not a readable DOCX: ${(error as Error).message}`, { cause: error });
  }
}
