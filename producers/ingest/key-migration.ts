import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { ContractError, MAX_DOCUMENT_BYTES, keyOf, validateDocument, type SchemaErrorCode } from '../../topology/index.ts';
import { IngestProducer } from './ingest-producer.ts';

// Moves an ingest topic from bare-id keys (before tenants were part of a document's identity) to
// `<tenant>/<id>` keys, in place: every document whose latest record is keyed by its bare id is
// published again, value unchanged, under its new key, and its bare-id key gets a tombstone so
// compaction drops the old records. A rebuild then indexes every document under its new identity.

export interface KeyMigrationPlan {
  /** Keys read, each with its latest record. */
  keys: number;
  /** Records already keyed `<tenant>/<id>` of their own document. */
  current: number;
  /** Keys whose latest record is a tombstone: left to compaction. */
  tombstones: number;
  /** Keys whose latest record is not a valid document, or names another document: left alone (dead letters). */
  invalid: Array<{ key: string; code: string }>;
  /** Documents keyed by their bare id, to publish again under their new key (value bytes unchanged). */
  republish: Array<{ from: string; key: string; value: Buffer }>;
  /** Bare-id documents whose new key already holds its own document: not published again. */
  superseded: string[];
  /** Bare-id keys to tombstone, so compaction removes their records. */
  retire: string[];
}

/**
 * Decides, from the latest record of every key, what to publish. Pure. A record is a bare-id
 * record when its key equals its document's id (the only records the old rules indexed). A key
 * that is also some document's new key is never tombstoned, so no retiring tombstone can delete a
 * document under the new identity; a new key that already holds its own document (published by an
 * upgraded producer, so newer) is never overwritten with the old version. Run it once, after the
 * producers of bare-id keys have stopped; a second run finds nothing more to do.
 */
export function planKeyMigration(latest: ReadonlyMap<string, Buffer | null>): KeyMigrationPlan {
  const plan: KeyMigrationPlan = { keys: latest.size, current: 0, tombstones: 0, invalid: [], republish: [], superseded: [], retire: [] };
  const bareIdKeys: string[] = [];
  for (const [key, value] of latest) {
    if (value === null) {
      plan.tombstones++;
      continue;
    }
    const document = parse(value);
    if (document instanceof ContractError) {
      plan.invalid.push({ key, code: document.code });
      continue;
    }
    const newKey = keyOf(document);
    if (newKey === key) plan.current++;
    else if (document.id === key) {
      bareIdKeys.push(key);
      if (holdsOwnDocument(latest.get(newKey), newKey)) plan.superseded.push(key);
      else plan.republish.push({ from: key, key: newKey, value });
    } else plan.invalid.push({ key, code: 'key-mismatch' });
  }
  const newKeys = new Set(plan.republish.map((r) => r.key));
  plan.retire = bareIdKeys.filter((key) => !newKeys.has(key));
  return plan;
}

/** Whether a key's latest record is a document published under that very key (a newer version than any bare-id record). */
function holdsOwnDocument(value: Buffer | null | undefined, key: string): boolean {
  if (value === null || value === undefined) return false;
  const document = parse(value);
  return !(document instanceof ContractError) && keyOf(document) === key;
}

function parse(value: Buffer): { id: string; tenant?: string } | ContractError {
  if (value.length > MAX_DOCUMENT_BYTES) return new ContractError<SchemaErrorCode>('oversized', 'too large');
  try {
    return validateDocument(JSON.parse(value.toString('utf8')));
  } catch (error) {
    if (error instanceof ContractError) return error;
    return new ContractError<SchemaErrorCode>('invalid-json', (error as Error).message);
  }
}

/**
 * The latest record of every key of a topic, read from the earliest offset to the end offsets
 * found at the start, with a consumer group of its own that is deleted afterwards. Holds every
 * latest value in memory: about the size of the corpus.
 */
async function readLatestRecords(kafka: Kafka, admin: Admin, topic: string): Promise<Map<string, Buffer | null>> {
  const latest = new Map<string, Buffer | null>();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([partition]) => partition));
  if (pending.size === 0) return latest;
  const groupId = `${topic}.migrate-keys.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          if (message.key !== null && BigInt(message.offset) < (ends.get(batch.partition) ?? 0n))
            latest.set(message.key.toString('utf8'), message.value);
        }
        if (BigInt(batch.lastOffset()) + 1n >= (ends.get(batch.partition) ?? 0n)) pending.delete(batch.partition);
        if (pending.size === 0) finished();
        return Promise.resolve();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return latest;
}

export interface KeyMigrationResult extends Omit<KeyMigrationPlan, 'republish'> {
  republished: number;
  dryRun: boolean;
}

/** Reads the ingest topic, plans, and (unless `dryRun`) publishes the retiring tombstones, then the re-keyed documents. */
export async function migrateKeys(options: { kafka: Kafka; admin: Admin; topic: string; dryRun?: boolean }): Promise<KeyMigrationResult> {
  const plan = planKeyMigration(await readLatestRecords(options.kafka, options.admin, options.topic));
  const { republish, ...rest } = plan;
  if (!options.dryRun && (plan.retire.length > 0 || republish.length > 0)) {
    const producer = new IngestProducer({ kafka: options.kafka, topic: options.topic });
    try {
      await producer.sendRaw(plan.retire.map((key) => ({ key, value: null })));
      await producer.sendRaw(republish.map((r) => ({ key: r.key, value: r.value })));
    } finally {
      await producer.close();
    }
  }
  return { ...rest, republished: republish.length, dryRun: options.dryRun ?? false };
}
