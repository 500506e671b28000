import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { IncomingHttpHeaders } from 'node:http';
import { MEDIA_EXTENSIONS, modalityOf, QUERY_MEDIA_EXTENSIONS, type Modality } from '../../topology/index.ts';

// `POST /search` with `multipart/form-data`: the search page's form, and any client's file upload.
// busboy parses the stream with per-part limits, so an oversized file is cut off at its limit
// instead of being buffered whole, and every way a form can be off gets its own typed answer.

/** The one file part a search form may carry: a query by example. */
export interface UploadedFile {
  bytes: Buffer;
  /** The part's MIME type, or the one its file name's extension gives when the client sent none. */
  type: string;
  modality: Modality;
  filename: string;
}

export interface MultipartForm {
  /** Text fields by name, in order of arrival (a name may repeat, as `filter` does). */
  fields: Map<string, string[]>;
  file: UploadedFile | null;
}

export type MultipartFailure =
  { kind: 'too-large'; message: string } | { kind: 'unsupported-type'; message: string } | { kind: 'invalid'; message: string };

export interface MultipartLimits {
  /** Largest file, in bytes (SEARCHBUS_MEDIA_INLINE_MAX_BYTES: the query travels inline). */
  maxFileBytes: number;
  /** Largest whole body: the file plus the fields and the multipart framing. */
  maxBodyBytes: number;
  /** Longest text field, in bytes. */
  maxFieldBytes: number;
}

/** The file field's name. */
export const FILE_FIELD = 'file';
const MAX_FIELDS = 40;

export function isMultipart(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'multipart/form-data';
}

/**
 * Reads a multipart/form-data body into its fields and at most one file. Never throws for a bad
 * body: a form that is malformed, too large, holds more than one file, or a file of a type the
 * encoders do not decode, is a MultipartFailure. The stream is drained (or left paused past the
 * body limit, for the caller to close the connection).
 */
export function readMultipartForm(
  headers: IncomingHttpHeaders,
  body: Readable,
  limits: MultipartLimits,
): Promise<MultipartForm | MultipartFailure> {
  return new Promise((resolve) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers,
        limits: {
          fileSize: limits.maxFileBytes,
          files: 1,
          fields: MAX_FIELDS,
          parts: MAX_FIELDS + 1,
          fieldSize: limits.maxFieldBytes,
          headerPairs: 16,
        },
      });
    } catch (error) {
      // busboy throws on a missing or malformed boundary.
      resolve({ kind: 'invalid', message: `the multipart body cannot be read: ${(error as Error).message}` });
      return;
    }
    const fields = new Map<string, string[]>();
    let file: UploadedFile | null = null;
    let failure: MultipartFailure | null = null;
    let settled = false;
    let received = 0;
    const fail = (f: MultipartFailure): void => {
      failure ??= f;
    };
    const finish = (): void => {
      if (settled) return;
      settled = true;
      body.unpipe(parser);
      resolve(failure ?? { fields, file });
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limits.maxBodyBytes) {
        fail({ kind: 'too-large', message: `the body is larger than ${limits.maxBodyBytes} bytes` });
        body.off('data', onData);
        body.pause();
        finish();
      }
    };
    body.on('data', onData);

    // busboy hands over an empty field name (`name=""`) as undefined, whatever its types say.
    parser.on('field', (rawName: string | undefined, value, info) => {
      const name = rawName ?? '';
      if (info.nameTruncated || info.valueTruncated)
        fail({ kind: 'invalid', message: `form field ${JSON.stringify(name.slice(0, 64))} is longer than ${limits.maxFieldBytes} bytes` });
      const values = fields.get(name) ?? [];
      values.push(value);
      fields.set(name, values);
    });
    parser.on('file', (rawName: string | undefined, stream, info) => {
      const name = rawName ?? '';
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        chunks.push(chunk);
      });
      // A body cut short ends the file part with an error too; the parser's own error answers it.
      stream.on('error', (error: Error) =>
        fail({ kind: 'invalid', message: `the multipart body cannot be read: ${error.message.slice(0, 200)}` }),
      );
      stream.on('limit', () => fail({ kind: 'too-large', message: `the file is larger than ${limits.maxFileBytes} bytes` }));
      stream.on('end', () => {
        if (name !== FILE_FIELD)
          return fail({
            kind: 'invalid',
            message: `unexpected file field ${JSON.stringify(name.slice(0, 64))}; send the query file as "${FILE_FIELD}"`,
          });
        if (size === 0) return fail({ kind: 'invalid', message: 'the file is empty' });
        const type = fileType(info.mimeType, info.filename ?? '');
        const modality = type === null ? undefined : modalityOf(type);
        if (type === null || !modality) {
          return fail({
            kind: 'unsupported-type',
            message: `the file's type ${JSON.stringify((info.mimeType || 'unknown').slice(0, 100))} is not an image or recording searchbus decodes (${QUERY_MEDIA_EXTENSIONS.join(', ')})`,
          });
        }
        file = { bytes: Buffer.concat(chunks), type, modality, filename: info.filename ?? '' };
      });
    });
    parser.on('filesLimit', () => fail({ kind: 'invalid', message: 'a search takes one file' }));
    parser.on('fieldsLimit', () => fail({ kind: 'invalid', message: `more than ${MAX_FIELDS} form fields` }));
    parser.on('partsLimit', () => fail({ kind: 'invalid', message: `more than ${MAX_FIELDS + 1} form parts` }));
    parser.on('error', (error: Error) => {
      fail({ kind: 'invalid', message: `the multipart body cannot be read: ${error.message.slice(0, 200)}` });
      body.resume();
      finish();
    });
    parser.on('close', finish);
    body.on('error', (error) => {
      fail({ kind: 'invalid', message: `the body could not be read: ${error.message.slice(0, 200)}` });
      finish();
    });
    body.pipe(parser);
  });
}

/** The part's type, or its extension's when the client sent a generic one (a file picked without a known type). */
function fileType(mimeType: string, filename: string): string | null {
  const essence = (mimeType.split(';')[0] ?? '').trim().toLowerCase();
  if (essence !== '' && essence !== 'application/octet-stream') return essence;
  return MEDIA_EXTENSIONS[extname(filename).toLowerCase()] ?? null;
}
