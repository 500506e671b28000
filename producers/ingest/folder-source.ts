// A folder of mixed files -> documents: text and Markdown as text, images, audio, video, document
// files (PDF, DOCX, HTML) and source code (parsed into functions by the encoders) as media (inline up to the inline limit, else by file:// uri: the claim
// check); the encoders extract a document file's text. A text file over the inline limit goes by
// uri too, as text/plain or text/markdown. Anything else is skipped with a reason, never guessed at.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CODE_EXTENSIONS,
  DEFAULT_MEDIA_INLINE_MAX_BYTES,
  DOCUMENT_EXTENSIONS,
  documentFormatOf,
  MEDIA_EXTENSIONS,
  mediaKindOf,
  ContractError,
  validateDocument,
} from '../../topology/index.ts';
import type { DocumentInput } from './ingest-producer.ts';

/** Text files, published as they are; their type when too large to go inline. */
const TEXT_EXTENSIONS: Readonly<Record<string, string>> = { '.txt': 'text/plain', '.md': 'text/markdown', '.markdown': 'text/markdown' };

/** What a file was published as: its media kind, or its document format (the summary counts by it). */
export type FileKind = 'text' | 'image' | 'audio' | 'video' | 'pdf' | 'docx' | 'html' | 'code';

export type FolderRecord =
  | { path: string; bytes: number; kind: FileKind; document: DocumentInput }
  | { path: string; bytes: number; kind: 'skipped'; type: string; reason: string };

export interface FolderSourceOptions {
  tenant?: string;
  /** SEARCHBUS_MEDIA_INLINE_MAX_BYTES: larger media are published by file:// uri. */
  mediaInlineMaxBytes?: number;
}

/** Every regular file under `dir`, sorted, with its size (for the progress bar). */
export async function listFiles(dir: string): Promise<Array<{ path: string; bytes: number }>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => {
        const path = join(e.parentPath, e.name);
        return { path, bytes: (await stat(path)).size };
      }),
  );
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** One file as a document: its id is its path relative to the folder (with `/`), its title its name. */
export async function fileDocument(
  dir: string,
  file: { path: string; bytes: number },
  options: FolderSourceOptions = {},
): Promise<FolderRecord> {
  const extension = extname(file.path).toLowerCase();
  const id = relative(dir, file.path).split(sep).join('/');
  const base = { id, title: basename(file.path), ...(options.tenant !== undefined ? { tenant: options.tenant } : {}) };
  const skip = (reason: string): FolderRecord => ({ ...file, kind: 'skipped', type: extension || '(none)', reason });
  try {
    const inlineMaxBytes = options.mediaInlineMaxBytes ?? DEFAULT_MEDIA_INLINE_MAX_BYTES;
    const textType = TEXT_EXTENSIONS[extension];
    if (textType && file.bytes <= inlineMaxBytes) {
      const text = await readFile(file.path, 'utf8');
      const document = { ...base, text };
      validateDocument({ schemaVersion: 1, ...document });
      return { ...file, kind: 'text', document };
    }
    const type = textType ?? MEDIA_EXTENSIONS[extension] ?? DOCUMENT_EXTENSIONS[extension] ?? CODE_EXTENSIONS[extension];
    const kind: FileKind | undefined = textType ? 'text' : type ? fileKindOf(type) : undefined;
    if (!type || !kind) return skip(`${extension || 'no extension'}: not a supported type (${SUPPORTED})`);
    const media =
      file.bytes <= inlineMaxBytes
        ? { type, data: (await readFile(file.path)).toString('base64') }
        : { type, uri: pathToFileURL(file.path).href };
    const document = { ...base, media };
    validateDocument({ schemaVersion: 1, ...document }, { mediaInlineMaxBytes: inlineMaxBytes });
    return { ...file, kind, document };
  } catch (error) {
    if (error instanceof ContractError) return skip(`${error.code}: ${error.message}`);
    throw error;
  }
}

const SUPPORTED = [
  ...Object.keys(TEXT_EXTENSIONS),
  ...Object.keys(MEDIA_EXTENSIONS),
  ...Object.keys(DOCUMENT_EXTENSIONS),
  ...Object.keys(CODE_EXTENSIONS),
]
  .map((e) => e.slice(1))
  .join(', ');

function fileKindOf(type: string): FileKind | undefined {
  const kind = mediaKindOf(type);
  if (kind !== 'document') return kind;
  const format = documentFormatOf(type);
  return format === 'pdf' || format === 'docx' || format === 'html' || format === 'code' ? format : undefined;
}
