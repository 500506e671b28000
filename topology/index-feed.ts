import { ContractError } from './errors.ts';
import { isValidTenant } from './document-identity.ts';
import type { MediaKind } from './media.ts';

// The index change feed (`<namespace>.indexed`): after a live encoder's Qdrant write is
// acknowledged, and before its offsets commit, it publishes one event per document it indexed or
// deleted. Keyed `<tenant>/<id>` like the ingest topic, so a document's events stay in order. A
// crash between the event and the commit redelivers the batch, so an event may come twice (at
// least once); `partition` + `offset` (the source record) identify the version, so a consumer
// drops a repeat by them.

export const INDEXED_EVENT_SCHEMA_VERSION = 1;

export type IndexedEventCode = 'invalid-indexed-event';

export interface IndexedEventV1 {
  schemaVersion: 1;
  /** `indexed`: the document's new version is searchable; `deleted`: the document is gone. */
  op: 'indexed' | 'deleted';
  tenant: string;
  id: string;
  /** The ingest record applied: its partition and offset (the offset is the version). */
  partition: number;
  offset: string;
  /** The same as a position token (`search --after` takes it). */
  position: string;
  /** `text`, or the kind of the document's medium; null for a delete. */
  modality: 'text' | MediaKind | null;
  /** Points written (chunks and media moments); 0 for a delete. */
  chunks: number;
  /** The collection written and the model that embedded it. */
  collection: string;
  model: string;
  /** When the write was acknowledged, ISO 8601. */
  indexedAt: string;
}

const FIELDS = [
  'schemaVersion',
  'op',
  'tenant',
  'id',
  'partition',
  'offset',
  'position',
  'modality',
  'chunks',
  'collection',
  'model',
  'indexedAt',
];
const MODALITIES = new Set(['text', 'image', 'audio', 'video', 'document']);

function invalid(message: string): ContractError<IndexedEventCode> {
  return new ContractError<IndexedEventCode>('invalid-indexed-event', message);
}

/** Bytes of an indexed event -> the event, or a ContractError `invalid-indexed-event` saying what is wrong. */
export function decodeIndexedEvent(value: Buffer | null): IndexedEventV1 {
  if (value === null) throw invalid('an indexed event has a value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new ContractError<IndexedEventCode>('invalid-indexed-event', 'an indexed event is JSON', { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('an indexed event is a JSON object');
  const e = parsed as Record<string, unknown>;
  const unknown = Object.keys(e).find((k) => !FIELDS.includes(k));
  if (unknown !== undefined) throw invalid(`unknown field ${unknown}`);
  if (e.schemaVersion !== INDEXED_EVENT_SCHEMA_VERSION) throw invalid(`schemaVersion must be ${INDEXED_EVENT_SCHEMA_VERSION}`);
  if (e.op !== 'indexed' && e.op !== 'deleted') throw invalid('op must be "indexed" or "deleted"');
  if (!isValidTenant(e.tenant)) throw invalid('tenant is not a valid tenant');
  if (typeof e.id !== 'string' || e.id.length === 0 || e.id.length > 512) throw invalid('id must be a string of 1-512 characters');
  if (!Number.isSafeInteger(e.partition) || (e.partition as number) < 0) throw invalid('partition must be a whole number ≥ 0');
  if (typeof e.offset !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(e.offset)) throw invalid('offset must be a decimal string');
  if (typeof e.position !== 'string') throw invalid('position must be a string');
  if (e.modality !== null && !(typeof e.modality === 'string' && MODALITIES.has(e.modality))) throw invalid('modality is unknown');
  if (!Number.isSafeInteger(e.chunks) || (e.chunks as number) < 0) throw invalid('chunks must be a whole number ≥ 0');
  for (const field of ['collection', 'model', 'indexedAt'] as const)
    if (typeof e[field] !== 'string') throw invalid(`${field} must be a string`);
  return e as unknown as IndexedEventV1;
}
