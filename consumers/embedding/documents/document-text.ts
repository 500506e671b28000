// The text of a document file, as segments that keep where each came from: one per PDF page, one
// for a whole DOCX, HTML, Markdown or plain-text file. Each segment is chunked on its own, so every
// chunk lies on one page and records it.
import { codeLanguageOf, documentFormatOf, type CodeLanguage, type DocumentFormat, type TextSource } from '../../../topology/index.ts';
import { codeSegments } from '../code/code-chunks.ts';
import { CODE_PARSER_ID } from '../code/code-parser.ts';
import { docxText } from './docx-text.ts';
import { htmlText } from './html-text.ts';
import { ContractError, type MediaErrorCode } from '../../../topology/errors.ts';
import { pdfPages } from './pdf-text.ts';
import { utf8Text } from './plain-text.ts';

export interface TextSegment {
  /** The 1-based page of a paged format (PDF). */
  page?: number;
  /** Speech transcribed from a recording: where the segment lies in it, in ms from its start. */
  startMs?: number;
  endMs?: number;
  text: string;
  /** Text read from a medium (an image's labels or OCR text) rather than a file's own text. */
  source?: TextSource;
  /** A source file's function, class or code between them: its language, name and 1-based lines. */
  code?: CodeSpan;
}

export interface CodeSpan {
  language: CodeLanguage;
  symbol?: string;
  startLine: number;
  endLine: number;
}

/** The extractor of each format and its version: recorded in every point's payload (`media.model`). */
export const DOCUMENT_EXTRACTORS: Readonly<Record<DocumentFormat, string>> = {
  pdf: 'pdfjs-dist-4.10.38',
  docx: 'mammoth-1.13.0',
  html: 'html-to-text-9.0.5',
  markdown: 'utf-8',
  plain: 'utf-8',
  code: CODE_PARSER_ID,
};

export interface ExtractOptions {
  /** OCR for PDF pages without a text layer (scans): reads the text of a rendered page. */
  ocr?: (png: Buffer) => Promise<string>;
}

export async function extractDocument(type: string, bytes: Buffer, options: ExtractOptions = {}): Promise<TextSegment[]> {
  const format = documentFormatOf(type);
  if (!format) throw new ContractError<MediaErrorCode>('media-undecodable', `${type} is not a document type`);
  const segments = (await segmentsOf(format, type, bytes, options))
    .map((s) => ({ ...s, text: cleanText(s.text) }))
    .filter((s) => s.text.trim() !== '');
  if (segments.length === 0) {
    const hint =
      format !== 'pdf'
        ? ''
        : options.ocr
          ? ' (no text layer, and OCR found no text on its pages)'
          : ' (a scanned PDF without a text layer? OCR is off)';
    throw new ContractError<MediaErrorCode>('document-no-text', `the ${format} file has no text to index${hint}`);
  }
  return segments;
}

async function segmentsOf(format: DocumentFormat, type: string, bytes: Buffer, options: ExtractOptions): Promise<TextSegment[]> {
  switch (format) {
    case 'pdf':
      // Page numbers only: whether a page was OCR'd is not part of the segment.
      return (await pdfPages(bytes, options.ocr ? { ocr: options.ocr } : {})).map(({ page, text }) => ({ page, text }));
    case 'docx':
      return [{ text: await docxText(bytes) }];
    case 'html':
      return [{ text: await htmlText(utf8Text(bytes, 'the HTML file')) }];
    case 'code':
      return codeFileSegments(type, bytes);
    case 'markdown':
    case 'plain':
      // Markdown is indexed as it is: its markup is words a reader sees too.
      return [{ text: utf8Text(bytes, `the ${format} file`) }];
  }
}

/**
 * A source file's functions and classes. A file with NUL bytes is a binary under a source name
 * (tree-sitter would read anything): refused, so it goes to the dead letters with its reason.
 */
async function codeFileSegments(type: string, bytes: Buffer): Promise<TextSegment[]> {
  const language = codeLanguageOf(type)!;
  if (bytes.includes(0)) {
    throw new ContractError<MediaErrorCode>('document-undecodable', `the ${language} file holds NUL bytes: a binary file, not source code`);
  }
  const text = utf8Text(bytes, `the ${language} file`);
  return (await codeSegments(language, text)).map(({ text, definition: _, ...span }) => ({ text, code: { language, ...span } }));
}

/**
 * Control characters (PDF text often holds NULs or form feeds; C1 controls too) become spaces; lone surrogates,
 * which Qdrant's JSON parser refuses, become U+FFFD. Line breaks and tabs stay.
 */
export function cleanText(text: string): string {
  return text.replace(/(?![\n\t])\p{Cc}/gu, ' ').replace(/\p{Cs}/gu, '\ufffd');
}
