// What a rebuild could not write: the documents its replay dead-lettered. A medium travels by
// claim check, so the rebuild reads its uri again, and content that has moved or no longer decodes
// fails there even though the live index still serves the document's earlier embedding. Swapping
// then would silently drop it; the rebuild refuses instead and names what it could not write.
import type { QdrantClient } from '@qdrant/js-client-rest';
import { parseDocumentKey, pointId } from '../../topology/index.ts';
import type { DeadLetter } from '../runtime/index.ts';

export interface UnwrittenDocument {
  tenant: string;
  id: string;
  /** The dead-letter reason code (`media-unreachable`, `media-undecodable`, ...) and message. */
  code: string;
  reason: string;
  partition: number;
  offset: string;
}

/** What the job's state records: each document once (its latest letter), and how many did not fit. */
export interface UnwrittenRecord {
  documents: UnwrittenDocument[];
  /** Documents dead-lettered beyond MAX_RECORDED_UNWRITTEN: not checked, so the swap is refused. */
  overflow: number;
}

/**
 * Documents kept in the job (in Redis) for the check before the swap. A replay that dead-letters
 * more is refused rather than swapped unchecked: a corpus that broken needs looking at first.
 */
const MAX_RECORDED_UNWRITTEN = 1000;
const MAX_REASON_CHARS = 300;

/** The document a dead letter held, or null when its key names none (it cannot be served either). */
export function unwrittenDocument(letter: DeadLetter): UnwrittenDocument | null {
  let identity;
  try {
    identity = parseDocumentKey(letter.message.key);
  } catch {
    return null;
  }
  return {
    ...identity,
    code: letter.code,
    reason: letter.reason.slice(0, MAX_REASON_CHARS),
    partition: letter.partition,
    offset: letter.message.offset,
  };
}

/** Adds a document to the record (replacing an earlier letter of the same document). */
export function recordUnwritten(
  record: UnwrittenRecord | undefined,
  document: UnwrittenDocument,
  max = MAX_RECORDED_UNWRITTEN,
): UnwrittenRecord {
  const documents = (record?.documents ?? []).filter((d) => d.tenant !== document.tenant || d.id !== document.id);
  const overflow = record?.overflow ?? 0;
  if (documents.length >= max) return { documents: record?.documents ?? [], overflow: overflow + 1 };
  return { documents: [...documents, document], overflow };
}

/**
 * Of the unwritten documents, those the live collection serves and the target lacks: what a swap
 * would lose. A document the target holds after all (a later version was written) or that the
 * live collection never had (it was dead-lettered there too) is no loss.
 */
export async function documentsLost(
  qdrant: Pick<QdrantClient, 'retrieve'>,
  live: string,
  target: string,
  unwritten: readonly UnwrittenDocument[],
): Promise<UnwrittenDocument[]> {
  if (unwritten.length === 0) return [];
  const ids = unwritten.map((d) => pointId(d.tenant, d.id, 0));
  const held = async (collection: string): Promise<Set<string>> => {
    const points = await qdrant.retrieve(collection, { ids, with_payload: false, with_vector: false });
    return new Set(points.map((p) => String(p.id)));
  };
  const [inLive, inTarget] = await Promise.all([held(live), held(target)]);
  return unwritten.filter((_, i) => inLive.has(ids[i]!) && !inTarget.has(ids[i]!));
}

/** The refusal: which documents, why, and what the operator can do. */
export function describeLoss(lost: readonly UnwrittenDocument[], live: string, target: string, shown = 10): string {
  const lines = lost.slice(0, shown).map((d) => `${d.tenant}/${d.id} (${d.code}: ${d.reason})`);
  const more = lost.length > shown ? `; and ${lost.length - shown} more` : '';
  return (
    `refusing to swap: ${target} lacks ${lost.length} document(s) that ${live} serves, because the rebuild could not re-encode them: ` +
    `${lines.join('; ')}${more}. Put their media back where their uri points (or publish a new version or a tombstone for each), then rebuild again.`
  );
}

/** The refusal when more documents were dead-lettered than the job records. */
export function describeOverflow(record: UnwrittenRecord, target: string): string {
  return (
    `refusing to swap: the rebuild into ${target} dead-lettered more than ${record.documents.length} documents (${record.overflow} not recorded), ` +
    `so it cannot check that none of them is served by the live index. Inspect the dead-letter topic, fix or delete those documents, then rebuild again.`
  );
}
