import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ContractError, validateDocument, type SchemaErrorCode } from '../../topology/index.ts';
import type { DocumentInput } from './ingest-producer.ts';

export type SourceRecord = { line: number; document: DocumentInput } | { line: number; error: ContractError };

export interface DocumentSource {
  path: string;
  /** Total bytes, for progress. */
  bytes: number;
  records(): AsyncGenerator<SourceRecord & { bytesRead: number }>;
}

/**
 * A JSONL file of documents (`{id, title?, text?, metadata?, tenant?}` per line), or a BEIR folder
 * whose `corpus.jsonl` uses `_id`. Each line is validated locally so that a bad line is reported
 * with its number instead of becoming a dead letter.
 */
export function openDocumentSource(path: string, options: { tenant?: string } = {}): DocumentSource {
  const stat = statSync(path);
  const file = stat.isDirectory() ? join(path, 'corpus.jsonl') : path;
  const bytes = statSync(file).size;
  return {
    path: file,
    bytes,
    async *records() {
      const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
      let line = 0;
      let bytesRead = 0;
      for await (const text of lines) {
        line += 1;
        bytesRead += Buffer.byteLength(text) + 1;
        if (text.trim() === '') continue;
        yield { ...parseLine(text, line, options.tenant), bytesRead };
      }
    },
  };
}

export function parseLine(text: string, line: number, tenant?: string): SourceRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { line, error: new ContractError<SchemaErrorCode>('invalid-json', `line ${line}: ${(error as Error).message}`) };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { line, error: new ContractError<SchemaErrorCode>('not-an-object', `line ${line}: not a JSON object`) };
  }
  const { _id, schemaVersion: _ignored, ...rest } = raw as Record<string, unknown>;
  const candidate: Record<string, unknown> = { schemaVersion: 1, ...rest };
  if (_id !== undefined && candidate.id === undefined) candidate.id = typeof _id === 'number' ? String(_id) : _id;
  if (typeof candidate.id === 'number') candidate.id = String(candidate.id);
  if (tenant !== undefined) candidate.tenant = tenant;
  // BEIR corpora carry an empty metadata object; drop empties so they are not indexed as fields.
  if (candidate.metadata && typeof candidate.metadata === 'object' && Object.keys(candidate.metadata).length === 0)
    delete candidate.metadata;
  try {
    const { schemaVersion: _v, ...document } = validateDocument(candidate);
    return { line, document };
  } catch (error) {
    if (error instanceof ContractError) return { line, error: new ContractError(error.code, `line ${line}: ${error.message}`) };
    throw error;
  }
}
