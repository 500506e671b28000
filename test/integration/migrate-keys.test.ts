import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { ReindexJobSummary, ReindexQueue } from '../../consumers/reindex/index.ts';
import { IngestProducer, type KeyMigrationResult } from '../../producers/ingest/index.ts';
import { HEADERS, pointId, uuidV5, VECTOR_NAMES } from '../../topology/index.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../support/harness.ts';
import type { QueryStack } from '../support/query-stack.ts';
import { startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';

const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));
/** The point-id namespace before tenants were part of the identity: ids were UUIDv5 of "<id>#<chunk>". */
const OLD_POINT_ID_NAMESPACE = '6f0b6a39-2f1e-4d53-9f6a-5a1c0e7d2b44';

// Migrating from bare-id keys, as the README says, on real services: an ingest topic and a live
// collection built under the old identity (bare-id keys, id-only point ids), an upgraded encoder
// that dead-letters the old records, `searchbus migrate-keys` (a real CLI process), then a rebuild.
describe('migrating from bare-id keys', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let reindexing: ReindexStack;
  let stack: QueryStack;
  let queue: ReindexQueue;
  let producer: IngestProducer;
  let dlq: Consumer;
  const letters: Array<{ key: string; code: string; group: string }> = [];

  // What the old world holds: the latest record of each bare key.
  const legacy = {
    'report-1': {
      id: 'report-1',
      tenant: 'tenant-a',
      title: 'Tidal locking',
      text: 'A moon whose rotation matches its orbit always shows the same face to its planet.',
    },
    'report-2': {
      id: 'report-2',
      title: 'Sourdough starters',
      text: 'Wild yeast and lactic acid bacteria leaven bread and give it its sour taste.',
    },
    // An id containing "/": its bare key reads as tenant "reports", id "2024" under the new format.
    'reports/2024': {
      id: 'reports/2024',
      tenant: 'tenant-b',
      title: 'Annual report 2024',
      text: 'Revenue from glacier tours grew as visitors came to see the retreating ice.',
    },
  } as const;
  const envelope = (d: object): string => JSON.stringify({ schemaVersion: 1, ...d });

  const job = async (id: string): Promise<ReindexJobSummary> => (await queue.get(id)) ?? assert.fail(`job ${id} exists`);
  const liveCollection = async (): Promise<string> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name ??
    assert.fail('the alias exists');

  async function migrateKeysCli(...args: string[]): Promise<KeyMigrationResult> {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'migrate-keys', '--json', ...args], {
      env: {
        ...process.env,
        ...h.env,
        KAFKA_BROKERS: h.services.kafka.brokers.join(','),
        REDIS_URL: h.services.redis.url,
        QDRANT_URL: h.services.qdrant.url,
      },
    });
    return JSON.parse(stdout) as KeyMigrationResult;
  }

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_REINDEX_GRACE_MS: '3000', SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200', SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500' },
    });
    encoder = await loadEncoder(h.config.model);

    // The old world: records keyed by bare id (one superseded version, one deleted document, one
    // record that was never valid), and a collection indexed with id-only point ids.
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    await producer.sendRaw([
      { key: 'report-2', value: envelope({ ...legacy['report-2'], title: 'An older version' }) },
      ...Object.entries(legacy).map(([key, d]) => ({ key, value: envelope(d) })),
      { key: 'report-3', value: envelope({ id: 'report-3', tenant: 'tenant-b', text: 'Deleted before the upgrade.' }) },
      { key: 'report-3', value: null },
      { key: 'mislabelled', value: envelope({ id: 'another-id', text: 'Never valid: the key was not the id.' }) },
    ]);
    const old = await documentEncoder(encoder).encodeDocuments(Object.values(legacy).map((d) => documentText(d)));
    await h.qdrant.upsert(await liveCollection(), {
      wait: true,
      points: Object.values(legacy).flatMap((d, i) =>
        (old[i] ?? []).map((chunk, c) => ({
          id: uuidV5(`${d.id}#${c}`, OLD_POINT_ID_NAMESPACE),
          vector: { [VECTOR_NAMES.text]: Array.from(chunk.vector) },
          payload: {
            doc_id: d.id,
            chunk: c,
            chunks: old[i]?.length ?? 0,
            title: d.title,
            text: chunk.text,
            metadata: {},
            tenant: 'tenant' in d ? d.tenant : 'default',
            model: encoder.spec.id,
            ingested_at: new Date(0).toISOString(),
          },
        })),
      ),
    });

    dlq = h.kafka.consumer({ groupId: `${h.namespace}.dlq-reader` });
    await dlq.connect();
    await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
    await dlq.run({
      eachMessage: ({ message }) => {
        const header = (name: string): string => message.headers?.[name]?.toString() ?? '';
        letters.push({ key: message.key?.toString() ?? '', code: header(HEADERS.errorCode), group: header(HEADERS.consumerGroup) });
        return Promise.resolve();
      },
    });

    // The upgrade: this version's encoder, reindex worker and query path.
    reindexing = await startReindexStack(h, [encoder]);
    ({ query: stack, queue } = reindexing);
  });

  after(async () => {
    await dlq?.disconnect();
    await producer?.close();
    await reindexing?.close();
    await encoder?.close();
    await h?.close();
  });

  it('dead-letters every bare-id record after the upgrade, changing nothing in the old collection', async () => {
    const encoderCodes = (): string[] =>
      letters
        .filter((l) => l.group === h.topology.groups.encoder)
        .map((l) => `${l.key}:${l.code}`)
        .sort();
    await waitFor('the upgraded encoder to dead-letter the old records', () =>
      Promise.resolve(encoderCodes().length >= 7 ? true : undefined),
    );
    assert.deepEqual(encoderCodes(), [
      'mislabelled:key-mismatch',
      'report-1:key-mismatch',
      'report-2:key-mismatch',
      'report-2:key-mismatch',
      'report-3:invalid-key',
      'report-3:key-mismatch',
      'reports/2024:key-mismatch',
    ]);
    const points = await allPoints(h.qdrant, await liveCollection());
    assert.ok(
      points.every((p) => p.payload.ingested_at === new Date(0).toISOString()),
      'only the old points',
    );
  });

  it('migrate-keys re-publishes each document under <tenant>/<id>, retires the bare keys, and finds nothing more to do the second time', async () => {
    const high = async (): Promise<bigint> =>
      (await h.admin.fetchTopicOffsets(h.topology.topics.ingest)).reduce((s, o) => s + BigInt(o.high), 0n);
    const before = await high();
    const dry = await migrateKeysCli('--dry-run');
    assert.equal(await high(), before, 'a dry run publishes nothing');
    assert.equal(dry.dryRun, true);

    const result = await migrateKeysCli();
    assert.deepEqual(
      { ...result, retire: [...result.retire].sort() },
      {
        keys: 5,
        current: 0,
        tombstones: 1,
        invalid: [{ key: 'mislabelled', code: 'key-mismatch' }],
        superseded: [],
        retire: ['report-1', 'report-2', 'reports/2024'],
        republished: 3,
        dryRun: false,
      },
    );
    assert.deepEqual(
      { ...dry, dryRun: false, retire: [...dry.retire].sort() },
      { ...result, retire: [...result.retire].sort() },
      'the dry run planned the same',
    );
    assert.equal(await high(), before + 6n, 'three tombstones and three documents');

    const again = await migrateKeysCli();
    assert.deepEqual([again.republished, again.retire.length, again.current, again.tombstones], [0, 0, 3, 4]);
  });

  it('rebuilds the collection under the new identity: every document once, under its tenant, with no old point left', async () => {
    const old = await liveCollection();
    // The live encoder applies the re-keyed documents beside the old points meanwhile.
    await waitFor('the re-keyed documents in the live collection', async () => {
      const found = await h.qdrant.retrieve(old, {
        ids: Object.values(legacy).map((d) => pointId('tenant' in d ? d.tenant : 'default', d.id, 0)),
      });
      return found.length === 3 ? true : undefined;
    });

    const { jobId } = await queue.request({ modelId: h.config.model.id });
    const done = await waitFor(
      'the rebuild to complete',
      async () => {
        const j = await job(jobId);
        if (j.state === 'failed') throw new Error(`rebuild failed: ${j.failedReason ?? ''}`);
        return j.state === 'completed' ? j : undefined;
      },
      300_000,
      200,
    );
    const target = done.result?.target ?? assert.fail('the rebuild names its target');
    assert.equal(await liveCollection(), target);

    const expected = Object.values(legacy).flatMap((d) => {
      const tenant = 'tenant' in d ? d.tenant : 'default';
      return encoder.chunk(documentText(d)).map((_, c) => ({ id: pointId(tenant, d.id, c), tenant, docId: d.id, title: d.title }));
    });
    const points = await allPoints(h.qdrant, target);
    assert.deepEqual(
      points
        .map((p) => ({ id: String(p.id), tenant: p.payload.tenant, docId: p.payload.doc_id, title: p.payload.title }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      expected.sort((a, b) => a.id.localeCompare(b.id)),
      'exactly the current documents, under point ids of (tenant, id, chunk)',
    );

    const search = await stack.client.search({ text: 'glacier tourism revenue', topK: 5, tenant: 'tenant-b' });
    assert.deepEqual(
      search.hits.map((hit) => hit.docId),
      ['reports/2024'],
    );
    const other = await stack.client.search({ text: 'glacier tourism revenue', topK: 5, tenant: 'reports' });
    assert.deepEqual(other.hits, [], 'the bare key "reports/2024" never became tenant "reports"');
    await waitFor(
      'the old collection dropped after the grace period',
      async () => ((await h.qdrant.collectionExists(old)).exists ? undefined : true),
      120_000,
      250,
    );
  });
});
