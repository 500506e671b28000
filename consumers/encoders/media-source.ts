// The bytes of a medium: inline base64, or read from its uri (claim check). Every failure is a
// typed, non-retriable MediaDecodeError, so the document is dead-lettered with the reason and the
// partition moves on.
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { MediaRef } from '../../topology/index.ts';
import { MediaTooLargeError, MediaUnreachableError } from './media-errors.ts';

export interface MediaSourceLimits {
  /** SEARCHBUS_MEDIA_FETCH_MAX_BYTES */
  readonly fetchMaxBytes: number;
  /** SEARCHBUS_MEDIA_FETCH_TIMEOUT_MS */
  readonly fetchTimeoutMs: number;
}

export async function readMedia(media: MediaRef, limits: MediaSourceLimits): Promise<Buffer> {
  if (media.data !== undefined) return Buffer.from(media.data, 'base64');
  const uri = media.uri ?? '';
  const url = new URL(uri);
  if (url.protocol === 'file:') return readFileLimited(url, limits.fetchMaxBytes);
  return fetchLimited(url, limits);
}

async function readFileLimited(url: URL, maxBytes: number): Promise<Buffer> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (error) {
    throw new MediaUnreachableError(`${url.href} is not a local file URL: ${(error as Error).message}`, { cause: error });
  }
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new MediaUnreachableError(`cannot read ${url.href}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new MediaTooLargeError(`${url.href} is ${size} bytes; media are limited to ${maxBytes} bytes (SEARCHBUS_MEDIA_FETCH_MAX_BYTES)`);
    return await handle.readFile();
  } catch (error) {
    if (error instanceof MediaTooLargeError) throw error;
    throw new MediaUnreachableError(`cannot read ${url.href}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  } finally {
    await handle.close();
  }
}

async function fetchLimited(url: URL, limits: MediaSourceLimits): Promise<Buffer> {
  const where = `${url.protocol}//${url.host}${url.pathname}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(limits.fetchTimeoutMs), redirect: 'follow' });
  } catch (error) {
    throw new MediaUnreachableError(`cannot fetch ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new MediaUnreachableError(`fetching ${where} answered HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limits.fetchMaxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new MediaTooLargeError(`${where} is ${declared} bytes; media are limited to ${limits.fetchMaxBytes} bytes (SEARCHBUS_MEDIA_FETCH_MAX_BYTES)`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += (chunk as Uint8Array).length;
      if (total > limits.fetchMaxBytes) throw new MediaTooLargeError(`${where} is over ${limits.fetchMaxBytes} bytes (SEARCHBUS_MEDIA_FETCH_MAX_BYTES)`);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
  } catch (error) {
    if (error instanceof MediaTooLargeError) throw error;
    throw new MediaUnreachableError(`reading ${where} failed: ${(error as Error).message}`, { cause: error });
  }
  return Buffer.concat(chunks);
}
