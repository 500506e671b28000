import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type Consumer } from 'kafkajs';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { ReindexJobSummary, ReindexQueue } from '../../consumers/reindex/index.ts';
import { SAMPLE_CORPUS } from '../../infra/cli/commands/up.ts';
import { IngestProducer, type DocumentInput } from '../../producers/ingest/index.ts';
import { DEFAULT_TENANT, HEADERS, documentKey, keyOf, pointId, topicSpecs } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import type { QueryStack } from '../support/query-stack.ts';
import { startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';

// Identity is (tenant, id), end to end on real Kafka, Redis, Qdrant and the real model: three
// tenants publish the same ids with different documents. Each is searchable only by its own
// tenant, a tombstone or an update in one tenant leaves the others alone, compaction keeps one
// record per (tenant, id) rather than per id, and a rebuild replays all of them. The ingest topic
// has one partition, so every tenant's records share one log: the strictest case for compaction.
describe('tenant identity', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let reindexing: ReindexStack;
  let stack: QueryStack;
  let queue: ReindexQueue;
  let producer: IngestProducer;
  let dlq: Consumer;
  const letters: Array<{ code: string; reason: string; group: string; key: string }> = [];

  const TENANTS = ['tenant-a', 'tenant-b', DEFAULT_TENANT] as const;
  type Tenant = (typeof TENANTS)[number];
  const IDS = Array.from({ length: 10 }, (_, i) => `report-${i}`);
  /** tenant -> id -> the document it published under that id. */
  const published = new Map<Tenant, Map<string, DocumentInput>>();
  const doc = (tenant: Tenant, id: string): DocumentInput => published.get(tenant)?.get(id) ?? assert.fail(`no ${tenant}/${id}`);
  const textOf = (d: DocumentInput): string => `${d.title ?? ''} ${d.text ?? ''}`.slice(0, 400);

  const firstChunk = async (collection: string, tenant: string, id: string): Promise<Record<string, unknown> | undefined> =>
    (await h.qdrant.retrieve(collection, { ids: [pointId(tenant, id, 0)], with_payload: true }))[0]?.payload ?? undefined;
  const documentsOf = async (collection: string, tenant: string): Promise<number> =>
    (
      await h.qdrant.count(collection, {
        exact: true,
        filter: {
          must: [
            { key: 'tenant', match: { value: tenant } },
            { key: 'chunk', match: { value: 0 } },
          ],
        },
      })
    ).count;
  const alias = (): string => h.topology.qdrant.alias;
  const job = async (id: string): Promise<ReindexJobSummary> => (await queue.get(id)) ?? assert.fail(`job ${id} exists`);

  before(async () => {
    h = await createHarness({
      env: {
        SEARCHBUS_INGEST_PARTITIONS: '1',
        SEARCHBUS_REINDEX_GRACE_MS: '3000',
        SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200',
        SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500',
      },
    });
    // Small segments and an eager cleaner, so that compaction runs within the test. AlterConfigs
    // replaces a topic's whole configuration, hence the topology's own settings beside them.
    const ingest = topicSpecs(h.topology, h.config).find((t) => t.topic === h.topology.topics.ingest) ?? assert.fail('ingest spec');
    const configs = { ...ingest.configs, 'segment.ms': '100', 'min.cleanable.dirty.ratio': '0.01' };
    await h.admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: ingest.topic,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });

    const sample = readFileSync(SAMPLE_CORPUS, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { title: string; text: string });
    TENANTS.forEach((tenant, t) => {
      const docs = new Map<string, DocumentInput>();
      IDS.forEach((id, i) => {
        const source = sample[t * IDS.length + i] ?? assert.fail('the sample corpus has 30 documents');
        docs.set(id, { id, title: source.title, text: source.text, ...(tenant === DEFAULT_TENANT ? {} : { tenant }) });
      });
      published.set(tenant, docs);
    });

    encoder = await loadEncoder(h.config.model);
    reindexing = await startReindexStack(h, [encoder]);
    ({ query: stack, queue } = reindexing);
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });

    dlq = h.kafka.consumer({ groupId: `${h.namespace}.dlq-reader` });
    await dlq.connect();
    await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
    await dlq.run({
      eachMessage: ({ message }) => {
        const header = (name: string): string => message.headers?.[name]?.toString() ?? '';
        letters.push({
          code: header(HEADERS.errorCode),
          reason: header(HEADERS.errorMessage),
          group: header(HEADERS.consumerGroup),
          key: message.key?.toString() ?? '',
        });
        return Promise.resolve();
      },
    });
  });

  after(async () => {
    await dlq?.disconnect();
    await producer?.close();
    await reindexing?.close();
    await encoder?.close();
    await h?.close();
  });

  it('keeps the same id in three tenants as three documents, each searchable only by its own tenant', async () => {
    for (const tenant of TENANTS) await producer.upsert([...(published.get(tenant)?.values() ?? [])]);
    await waitFor(
      '30 documents indexed',
      async () =>
        (await documentsOf(alias(), 'tenant-a')) +
          (await documentsOf(alias(), 'tenant-b')) +
          (await documentsOf(alias(), DEFAULT_TENANT)) ===
        30
          ? true
          : undefined,
      300_000,
      250,
    );
    for (const tenant of TENANTS) {
      assert.equal(await documentsOf(alias(), tenant), IDS.length, `${tenant} has all of its documents`);
      for (const id of IDS)
        assert.equal((await firstChunk(alias(), tenant, id))?.title, doc(tenant, id).title, `${tenant}/${id} is its own document`);
    }

    for (const tenant of TENANTS) {
      const others = TENANTS.filter((t) => t !== tenant);
      const ownTitles = new Set(IDS.map((id) => doc(tenant, id).title));
      for (const id of IDS) {
        const own = await stack.client.search({ text: textOf(doc(tenant, id)), topK: 1, tenant });
        assert.deepEqual([own.hits[0]?.docId, own.hits[0]?.title], [id, doc(tenant, id).title], `${tenant} finds its own ${id}`);
        // Another tenant's text, as close a match as exists for that document: never returned here.
        const probe = doc(others[IDS.indexOf(id) % others.length] ?? assert.fail('other'), id);
        const result = await stack.client.search({ text: textOf(probe), topK: 100, tenant });
        assert.equal(result.hits.length, IDS.length, `${tenant} sees its ${IDS.length} documents and no more`);
        assert.ok(
          result.hits.every((hit) => ownTitles.has(hit.title)),
          `${tenant} sees only its own documents`,
        );
      }
    }
  });

  it("leaves the other tenants' document of the same id when one tenant deletes or updates it", async () => {
    await producer.delete([{ tenant: 'tenant-a', id: 'report-0' }]);
    const revised: DocumentInput = {
      tenant: 'tenant-b',
      id: 'report-1',
      title: 'Revised by tenant B: tidal locking of moons',
      text: 'A moon whose rotation matches its orbit always shows the same face to its planet.',
    };
    await producer.upsert([revised]);
    published.get('tenant-b')?.set('report-1', revised);
    await waitFor('the tombstone applied', async () =>
      (await firstChunk(alias(), 'tenant-a', 'report-0')) === undefined ? true : undefined,
    );
    await waitFor('the update applied', async () =>
      (await firstChunk(alias(), 'tenant-b', 'report-1'))?.title === revised.title ? true : undefined,
    );
    published.get('tenant-a')?.delete('report-0');

    assert.equal((await firstChunk(alias(), 'tenant-b', 'report-0'))?.title, doc('tenant-b', 'report-0').title);
    assert.equal((await firstChunk(alias(), DEFAULT_TENANT, 'report-0'))?.title, doc(DEFAULT_TENANT, 'report-0').title);
    assert.equal((await firstChunk(alias(), 'tenant-a', 'report-1'))?.title, doc('tenant-a', 'report-1').title);
    assert.equal((await firstChunk(alias(), DEFAULT_TENANT, 'report-1'))?.title, doc(DEFAULT_TENANT, 'report-1').title);
    const b0 = await stack.client.search({ text: textOf(doc('tenant-b', 'report-0')), topK: 1, tenant: 'tenant-b' });
    assert.deepEqual([b0.hits[0]?.docId, b0.hits[0]?.title], ['report-0', doc('tenant-b', 'report-0').title]);
    const a = await stack.client.search({ text: textOf(doc('tenant-b', 'report-0')), topK: 100, tenant: 'tenant-a' });
    assert.equal(a.hits.length, IDS.length - 1);
    assert.ok(!a.hits.some((hit) => hit.docId === 'report-0'), "tenant A's report-0 is gone");
  });

  it('dead-letters a message whose key disagrees with its tenant, and keys that cannot be parsed, writing nothing', async () => {
    const intruder = {
      schemaVersion: 1,
      id: 'report-x',
      tenant: 'tenant-a',
      title: 'Intruder',
      text: 'Published under tenant B’s key, claiming tenant A.',
    };
    await producer.sendRaw([
      { key: documentKey('tenant-b', 'report-x'), value: JSON.stringify(intruder) },
      // Keys from before tenants were part of the identity: the bare id.
      { key: 'report-9', value: JSON.stringify({ schemaVersion: 1, id: 'report-9', title: 'Legacy', text: 'Keyed by its bare id.' }) },
      { key: 'report-8', value: null },
    ]);
    const encoderLetters = (): typeof letters => letters.filter((l) => l.group === h.topology.groups.encoder);
    await waitFor('three dead letters from the encoder', () => Promise.resolve(encoderLetters().length >= 3 ? true : undefined), 120_000);
    const byKey = new Map(encoderLetters().map((l) => [l.key, l]));
    assert.equal(byKey.get('tenant-b/report-x')?.code, 'key-mismatch');
    assert.match(byKey.get('tenant-b/report-x')?.reason ?? '', /differs from the document's key "tenant-a\/report-x"/);
    assert.equal(byKey.get('report-9')?.code, 'key-mismatch');
    assert.match(byKey.get('report-9')?.reason ?? '', /"default\/report-9".*bare id/);
    assert.equal(byKey.get('report-8')?.code, 'invalid-key');
    assert.match(byKey.get('report-8')?.reason ?? '', /<tenant>\/<id>/);

    for (const tenant of TENANTS) assert.equal(await firstChunk(alias(), tenant, 'report-x'), undefined, `nothing written to ${tenant}`);
    assert.equal(
      (await firstChunk(alias(), DEFAULT_TENANT, 'report-9'))?.title,
      doc(DEFAULT_TENANT, 'report-9').title,
      'the legacy upsert changed nothing',
    );
    for (const tenant of TENANTS)
      assert.equal(
        (await firstChunk(alias(), tenant, 'report-8'))?.title,
        doc(tenant, 'report-8').title,
        'the legacy tombstone deleted nothing',
      );
  });

  it('compacts to one record per (tenant, id): every tenant keeps its latest version of a shared id', async () => {
    const wanted = (records: Array<{ key: string; tombstone: boolean }>): boolean => {
      const count = (key: string): number => records.filter((r) => r.key === key).length;
      // Superseded: tenant A's report-0 (by its tombstone) and tenant B's report-1 (by its revision).
      return count('tenant-a/report-0') === 1 && count('tenant-b/report-1') === 1;
    };
    // A record after the superseding ones rolls their segment, so that the cleaner may compact it.
    await producer.upsert([{ tenant: 'tenant-c', id: 'segment-roll', text: 'Rolls the active segment of the ingest topic.' }]);
    const records = await waitFor(
      'the log cleaner to compact the ingest topic',
      async () => {
        const all = await readIngestTopic();
        return wanted(all) ? all : undefined;
      },
      300_000,
      2_000,
    );
    const byKey = new Map<string, Array<{ tombstone: boolean }>>();
    for (const r of records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), { tombstone: r.tombstone }]);
    assert.deepEqual(byKey.get('tenant-a/report-0'), [{ tombstone: true }], "tenant A's report-0: only its tombstone");
    for (const tenant of TENANTS) {
      for (const id of IDS) {
        if (tenant === 'tenant-a' && id === 'report-0') continue;
        assert.deepEqual(byKey.get(keyOf(doc(tenant, id))), [{ tombstone: false }], `${tenant}/${id} keeps exactly its latest record`);
      }
    }
  });

  it('rebuilds every tenant from the compacted topic: the same documents, under the same identities', async () => {
    const before = (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === alias())?.collection_name;
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
    assert.notEqual(target, before);
    assert.equal((await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === alias())?.collection_name, target);

    assert.equal(await documentsOf(target, 'tenant-a'), IDS.length - 1);
    assert.equal(await documentsOf(target, 'tenant-b'), IDS.length);
    assert.equal(await documentsOf(target, DEFAULT_TENANT), IDS.length);
    assert.equal(await documentsOf(target, 'tenant-c'), 1);
    for (const tenant of TENANTS) {
      for (const id of IDS) {
        const payload = await firstChunk(target, tenant, id);
        const expected = published.get(tenant)?.get(id);
        assert.equal(payload?.title, expected?.title, `${tenant}/${id} rebuilt as its tenant's latest version`);
        if (payload) assert.deepEqual([payload.tenant, payload.doc_id], [tenant, id]);
      }
    }
    // The rebuild decodes with the same rules: the bad records are dead-lettered again, by its own group.
    const rebuildCodes = (): string[] =>
      letters
        .filter((l) => l.group === h.topology.groups.reindex(target))
        .map((l) => `${l.key}:${l.code}`)
        .sort();
    await waitFor(
      'the rebuild to dead-letter the bad records',
      () => Promise.resolve(rebuildCodes().length >= 3 ? true : undefined),
      60_000,
    );
    assert.deepEqual(rebuildCodes(), ['report-8:invalid-key', 'report-9:key-mismatch', 'tenant-b/report-x:key-mismatch']);

    // Searches follow the alias to the rebuilt collection, still one tenant at a time.
    await waitFor(
      'searches answered from the rebuilt collection',
      async () => {
        const result = await stack.client.search({ text: textOf(doc('tenant-b', 'report-1')), topK: 1, tenant: 'tenant-b' });
        return result.hits[0]?.title === doc('tenant-b', 'report-1').title &&
          (await h.qdrant.collectionExists(before ?? '')).exists === false
          ? true
          : undefined;
      },
      60_000,
      250,
    );
    for (const tenant of TENANTS) {
      const result = await stack.client.search({ text: textOf(doc(tenant, 'report-1')), topK: 100, tenant });
      assert.equal(result.hits[0]?.title, doc(tenant, 'report-1').title);
      const own = new Set([...(published.get(tenant)?.values() ?? [])].map((d) => d.title));
      assert.ok(
        result.hits.every((hit) => own.has(hit.title)),
        `${tenant} sees only its own documents after the rebuild`,
      );
    }
  });

  /** Every record of the ingest topic (one partition), from the earliest offset to the end. */
  async function readIngestTopic(): Promise<Array<{ key: string; tombstone: boolean }>> {
    const topic = h.topology.topics.ingest;
    const [end] = await h.admin.fetchTopicOffsets(topic);
    const last = BigInt(end?.high ?? '0') - 1n;
    const records: Array<{ key: string; tombstone: boolean }> = [];
    const groupId = `${h.namespace}.topic-reader-${Date.now()}`;
    const reader = h.kafka.consumer({ groupId });
    await reader.connect();
    try {
      await reader.subscribe({ topic, fromBeginning: true });
      let reached = false;
      await reader.run({
        eachMessage: ({ message }) => {
          records.push({ key: message.key?.toString() ?? '', tombstone: message.value === null });
          if (BigInt(message.offset) >= last) reached = true;
          return Promise.resolve();
        },
      });
      await waitFor('the end of the ingest topic', () => Promise.resolve(reached ? true : undefined), 60_000, 50);
    } finally {
      await reader.disconnect();
      await h.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return records;
  }
});
