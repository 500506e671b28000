// The bytes of a medium: inline base64, or read from its uri (claim check): a file under the file
// roots, or an http(s) URL that media-fetch.ts allows. Every failure is a ContractError with a
// media code (never retriable), so the document is dead-lettered with the reason and the partition moves on.
import { open, realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isWithin } from '../../../topology/path-within.ts';
import type { MediaRef } from '../../../topology/index.ts';
import { fetchMedia, type MediaFetchLimits } from './media-fetch.ts';
import { ContractError, hasErrorCode, type MediaErrorCode } from '../../../topology/errors.ts';

export interface MediaSourceLimits extends MediaFetchLimits {
  /** SEARCHBUS_MEDIA_FILE_ROOTS: absolute directories a file:// uri may point into (none: file:// is refused). */
  readonly fileRoots: readonly string[];
}

export async function readMedia(media: MediaRef, limits: MediaSourceLimits): Promise<Buffer> {
  if (media.data !== undefined) return Buffer.from(media.data, 'base64');
  const uri = media.uri ?? '';
  const url = new URL(uri);
  if (url.protocol === 'file:') return readFileLimited(url, limits);
  return fetchMedia(url, limits);
}

async function readFileLimited(url: URL, limits: MediaSourceLimits): Promise<Buffer> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (error) {
    throw new ContractError<MediaErrorCode>('media-unreachable', `${url.href} is not a local file URL: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // Whoever can publish a document or a search could otherwise make a role read any file it can
  // (another tenant's media, mounted secrets). The real path is checked, so `..` and symlinks
  // cannot leave the roots; a file outside them is refused before it is opened.
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    if (!(await underRoots(path, limits.fileRoots))) throw forbidden(url, limits.fileRoots);
    throw new ContractError<MediaErrorCode>(
      'media-unreachable',
      `cannot read ${url.href}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  if (!(await underRoots(real, limits.fileRoots))) throw forbidden(url, limits.fileRoots);
  const maxBytes = limits.fetchMaxBytes;
  let handle;
  try {
    handle = await open(real, 'r');
  } catch (error) {
    throw new ContractError<MediaErrorCode>(
      'media-unreachable',
      `cannot read ${url.href}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  try {
    const { size } = await handle.stat();
    if (size > maxBytes)
      throw new ContractError<MediaErrorCode>(
        'media-too-large',
        `${url.href} is ${size} bytes; media are limited to ${maxBytes} bytes (SEARCHBUS_MEDIA_FETCH_MAX_BYTES)`,
      );
    return await handle.readFile();
  } catch (error) {
    if (hasErrorCode(error, 'media-too-large')) throw error;
    throw new ContractError<MediaErrorCode>(
      'media-unreachable',
      `cannot read ${url.href}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  } finally {
    await handle.close();
  }
}

function forbidden(url: URL, roots: readonly string[]): ContractError<MediaErrorCode> {
  const allowed = roots.length === 0 ? 'no directory is allowed' : `allowed: ${roots.join(', ')}`;
  return new ContractError<MediaErrorCode>(
    'media-forbidden',
    `${url.href} is outside SEARCHBUS_MEDIA_FILE_ROOTS (${allowed}); file:// media are read only there`,
  );
}

/** Whether `path` is one of the roots or inside one (roots compared by their real paths). */
async function underRoots(path: string, roots: readonly string[]): Promise<boolean> {
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => root);
    if (isWithin(realRoot, path)) return true;
  }
  return false;
}
