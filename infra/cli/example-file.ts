import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ContractError, MEDIA_EXTENSIONS, modalityOf, QUERY_MEDIA_EXTENSIONS } from '../../topology/index.ts';

/** A query-by-example file (`--image`, `--audio`) read inline, its type from its extension; a usage error says what is wrong. */
export async function readExampleFile(
  kind: 'image' | 'audio',
  file: string,
  inlineMaxBytes: number,
): Promise<{ type: string; data: string }> {
  const type = MEDIA_EXTENSIONS[extname(file).toLowerCase()];
  if (!type || modalityOf(type) !== kind)
    throw new ContractError('usage', `--${kind} ${file}: not a supported ${kind} file (${QUERY_MEDIA_EXTENSIONS.join(', ')})`);
  const bytes = await readFile(file).catch((error: unknown) => {
    throw new ContractError('usage', `--${kind} ${file}: ${(error as Error).message}`);
  });
  if (bytes.length > inlineMaxBytes)
    throw new ContractError(
      'usage',
      `--${kind} ${file} is ${bytes.length} bytes; queries by example are limited to ${inlineMaxBytes} (SEARCHBUS_MEDIA_INLINE_MAX_BYTES)`,
    );
  return { type, data: bytes.toString('base64') };
}
