import { ContractError, type MediaErrorCode } from '../../../topology/errors.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** UTF-8 bytes -> text (a leading BOM dropped); anything else is refused rather than garbled. */
export function utf8Text(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch (error) {
    throw new ContractError<MediaErrorCode>('document-undecodable', `${what} is not UTF-8 text`, { cause: error });
  }
}
