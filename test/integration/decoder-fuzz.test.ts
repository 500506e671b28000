import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { Partitioners, type Consumer, type IHeaders, type Producer } from 'kafkajs';
import { documentText, EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer, type DocumentInput } from '../../producers/ingest/index.ts';
import {
  DEFAULT_TENANT,
  decodeIngestMessage,
  documentKey,
  isValidDocumentId,
  decodeSearchRequest,
  HEADERS,
  ContractError,
  type SearchReplyV1,
} from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';
import {
  applyMutation,
  DOCUMENT_PATHS,
  mutation,
  OVERSIZED_DOCUMENT,
  oddString,
  rawBytes,
  REQUEST_PATHS,
  validDocument,
  validRequest,
  wildValue,
} from '../support/fuzz-inputs.ts';

// Generated bad and good input, published to the real ingest and request topics with the real
// encoder and query consumers running. Every ingest input must end in Qdrant (good) or in the
// dead-letter topic with its error headers (bad), and the group's offsets reach the end of every
// partition; every request with a reply channel gets its reply (hits or the decoder's error code),
// expired and unreplyable ones are counted, none is left waiting. What each input should come to is
// what the decoder says of it: the unit fuzz test (test/unit/topology/decoder-fuzz.test.ts) holds
// the decoder to the contract; this one holds the consumers to the decoder.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const GOOD_DOCUMENTS = 120;
const RAW_INGEST = 240;
const RAW_REQUESTS = 300;
const UNREPLYABLE_REQUESTS = 12;
const FUZZ_HEADER = 'fuzz-input';
const REPLY_WAIT_MS = 300_000;

interface DeadLetterSeen {
  index: string | undefined;
  code: string;
  headers: IHeaders;
}

describe('fuzzed input through the real consumers', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let live: EncoderConsumer;
  let stack: QueryStack;
  let raw: Producer;
  let producer: IngestProducer;
  let dlq: Consumer;
  let subscriber: Redis;
  const deadLetters: DeadLetterSeen[] = [];
  const replies = new Map<string, SearchReplyV1[]>();
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();

  before(async () => {
    process.stderr.write(`fuzz seed ${SEED} (rerun with FUZZ_SEED=${SEED})\n`);
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
    live = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(encoder)),
    });
    await live.start();
    stack = await startQueryStack(h, [encoder], { timeoutMs: 60_000 });
    raw = h.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
    await raw.connect();
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    dlq = h.kafka.consumer({ groupId: `${h.namespace}.fuzz-dlq-reader` });
    await dlq.connect();
    await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
    await dlq.run({
      eachMessage: ({ message }) => {
        const headers = message.headers ?? {};
        deadLetters.push({ index: headers[FUZZ_HEADER]?.toString(), code: headers[HEADERS.errorCode]?.toString() ?? '', headers });
        return Promise.resolve();
      },
    });
    subscriber = stack.redis.duplicate();
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const list = replies.get(channel) ?? [];
      list.push(JSON.parse(message) as SearchReplyV1);
      replies.set(channel, list);
    });
    await subscriber.psubscribe(`${h.topology.redis.replyChannel('')}*`);
  });

  after(async () => {
    await subscriber?.quit();
    await dlq?.disconnect();
    await producer?.close();
    await raw?.disconnect();
    await stack?.close();
    await live?.close();
    await encoder?.close();
    await h?.close();
  });

  it('every ingest input ends in Qdrant or in the dead-letter topic with its error headers; the partitions move on', async () => {
    const ingest = h.topology.topics.ingest;
    const good = fc.sample(validDocument, { numRuns: GOOD_DOCUMENTS, seed: SEED }).map((d, i): DocumentInput => {
      const { schemaVersion: _, ...input } = d;
      return { ...input, id: `fz-good-${i}` };
    });
    // Keys are never null: the broker refuses a record without a key on a compacted topic (below).
    const rawInputs: Array<{ key: Buffer; value: Buffer | null }> = [
      ...fc
        .sample(
          fc.tuple(
            oddString.map((s) => Buffer.from(s)),
            fc.option(
              rawBytes.map((b) => Buffer.from(b)),
              { freq: 15 },
            ),
          ),
          { numRuns: RAW_INGEST / 4, seed: SEED + 1 },
        )
        .map(([key, value]) => ({ key, value })),
      ...fc
        .sample(wildValue, { numRuns: RAW_INGEST / 4, seed: SEED + 2 })
        .map((v, i) => ({ key: Buffer.from(`fz-wild-${i}`), value: Buffer.from(JSON.stringify(v) ?? 'null') })),
      ...fc
        .sample(fc.tuple(validDocument, mutation(DOCUMENT_PATHS), fc.boolean()), { numRuns: RAW_INGEST / 2, seed: SEED + 3 })
        .map(([d, m, withKey], i) => {
          const doc = { ...d, id: `fz-mut-${i}` };
          // Keyed <tenant>/<id> of the document before its mutation, as a client would have keyed it.
          const key = documentKey(typeof d.tenant === 'string' ? d.tenant : DEFAULT_TENANT, doc.id);
          return { key: Buffer.from(withKey ? key : `fz-other-key-${i}`), value: Buffer.from(applyMutation(doc, m), 'utf8') };
        }),
      { key: Buffer.from('fz-oversized'), value: OVERSIZED_DOCUMENT() },
      // Tombstones under well-formed keys with odd ids (NUL, bidi, emoji, ...): deletes of documents never published.
      ...fc
        .sample(
          oddString.map((s) => `fz-tomb-${s}`).filter((id) => isValidDocumentId(id) && !/\p{Cs}/u.test(id)),
          { numRuns: 12, seed: SEED + 8 },
        )
        .map((id) => ({ key: Buffer.from(documentKey(DEFAULT_TENANT, id)), value: null })),
    ];

    // What each input should come to, from the decoder. Ids decoded as valid must be unique, or
    // two versions on different partitions could land in either order.
    const expectedPoints = new Map<string, { chunks: number; tenant: string | undefined }>();
    const expectedLetters = new Map<string, string>();
    let tombstones = 0;
    for (const d of good) expectedPoints.set(d.id, { chunks: encoder.chunk(documentText(d)).length, tenant: d.tenant });
    const toSend: Array<{ key: Buffer; value: Buffer | null; headers: IHeaders }> = [];
    rawInputs.forEach((input, i) => {
      try {
        const decoded = decodeIngestMessage(input.key, input.value);
        if (decoded.kind === 'delete') {
          tombstones++;
          if (expectedPoints.has(decoded.id)) return;
        } else {
          if (expectedPoints.has(decoded.id)) return;
          expectedPoints.set(decoded.id, { chunks: encoder.chunk(documentText(decoded.document)).length, tenant: decoded.document.tenant });
        }
      } catch (error) {
        assert.ok(error instanceof ContractError, `the decoder throws only ContractError, got ${(error as Error).name}`);
        expectedLetters.set(String(i), error.code);
      }
      toSend.push({ ...input, headers: { [FUZZ_HEADER]: String(i) } });
    });

    // Good and bad interleaved, so every partition meets poison between good documents.
    const half = Math.ceil(good.length / 2);
    await producer.upsert(good.slice(0, half));
    await sendInBatches(raw, ingest, toSend);
    await assert.rejects(
      raw.send({ topic: ingest, acks: -1, messages: [{ key: null, value: '{"schemaVersion":1,"id":"k","text":"t"}' }] }),
      /failed the validation/,
      'the broker refuses a keyless record on the compacted topic',
    );
    await producer.upsert(good.slice(half));
    const tried = good.length + toSend.length;
    process.stderr.write(
      `ingest: ${tried} inputs published (${good.length} generated documents, ${toSend.length} raw records: ${expectedLetters.size} expected dead letters, ${expectedPoints.size - good.length} raw records valid, ${tombstones} tombstones)\n`,
    );

    const chunksOf = async (id: string): Promise<number> =>
      (await h.qdrant.count(h.topology.qdrant.alias, { exact: true, filter: { must: [{ key: 'doc_id', match: { value: id } }] } })).count;
    await waitFor(
      `${expectedLetters.size} dead letters`,
      () => Promise.resolve(deadLetters.filter((l) => l.index !== undefined).length >= expectedLetters.size ? true : undefined),
      REPLY_WAIT_MS,
      250,
    );
    await waitFor(
      `${expectedPoints.size} documents in Qdrant`,
      async () => {
        const { count } = await h.qdrant.count(h.topology.qdrant.alias, { exact: true });
        const total = [...expectedPoints.values()].reduce((s, e) => s + e.chunks, 0);
        return count >= total ? true : undefined;
      },
      REPLY_WAIT_MS,
      250,
    );
    await waitFor(
      'the encoder group committed to the end of every partition',
      async () => {
        const ends = await h.admin.fetchTopicOffsets(ingest);
        const [committed] = await h.admin.fetchOffsets({ groupId: h.topology.groups.encoder, topics: [ingest] });
        return ends.every((e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.high) ? true : undefined;
      },
      REPLY_WAIT_MS,
      250,
    );

    for (const [id, expected] of expectedPoints)
      assert.equal(await chunksOf(id), expected.chunks, `document ${JSON.stringify(id)}: one point per chunk`);
    const seen = new Map(deadLetters.filter((l) => l.index !== undefined).map((l) => [l.index!, l]));
    assert.equal(seen.size, deadLetters.filter((l) => l.index !== undefined).length, 'each input dead-lettered once');
    for (const [index, code] of expectedLetters) {
      const letter = seen.get(index);
      assert.ok(letter, `input ${index} (${code}) is in the dead-letter topic`);
      assert.equal(letter.code, code, `input ${index}: error code`);
      assert.equal(letter.headers[HEADERS.sourceTopic]?.toString(), ingest);
      for (const header of [HEADERS.errorMessage, HEADERS.sourcePartition, HEADERS.sourceOffset, HEADERS.failedAt, HEADERS.consumerGroup]) {
        assert.ok(letter.headers[header] !== undefined, `input ${index}: header ${header}`);
      }
    }
    assert.equal(seen.size, expectedLetters.size, 'nothing valid was dead-lettered');
    const { count } = await h.qdrant.count(h.topology.qdrant.alias, { exact: true });
    assert.equal(
      count,
      [...expectedPoints.values()].reduce((s, e) => s + e.chunks, 0),
      'no other points',
    );
    assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), prototypeBefore, 'Object.prototype unchanged');
    assert.equal(live.state, 'running');
  });

  it('every search request gets its reply (hits or the error code), expired and unreplyable ones are counted', async () => {
    const prefix = h.topology.redis.replyChannel('');
    const limits = { maxTopK: h.config.query.maxTopK, replyChannelPrefix: prefix };
    const now = Date.now();
    const requests: Array<{ key: string; value: Buffer | null; headers: IHeaders }> = [];
    const base = (r: Record<string, unknown>, i: number): Record<string, unknown> => ({ ...r, id: `fz-${i}`, replyTo: `${prefix}fz-${i}` });
    const samples = [
      ...fc
        .sample(validRequest(prefix, now), { numRuns: RAW_REQUESTS / 5, seed: SEED + 4 })
        .map((r, i) => Buffer.from(JSON.stringify(base(r, i)))),
      ...fc
        .sample(fc.tuple(validRequest(prefix, now), mutation(REQUEST_PATHS)), { numRuns: (RAW_REQUESTS * 2) / 5, seed: SEED + 5 })
        .map(([r, m], i) => Buffer.from(applyMutation(base(r, i + RAW_REQUESTS), m))),
      ...fc.sample(wildValue, { numRuns: RAW_REQUESTS / 5, seed: SEED + 6 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      ...fc
        .sample(fc.option(rawBytes, { freq: 15 }), { numRuns: RAW_REQUESTS / 5, seed: SEED + 7 })
        .map((b) => (b === null ? null : Buffer.from(b))),
    ];
    // The request topic keeps the broker's default size limit (about 1 MB): the broker refuses a
    // bigger record, so its sender hears of it at once and no consumer ever sees it.
    const BROKER_LIMIT = 1_000_000;
    const refused = samples.filter((value) => (value?.length ?? 0) > BROKER_LIMIT);
    for (const value of refused) {
      await assert.rejects(
        raw.send({ topic: h.topology.topics.searchRequests, acks: -1, messages: [{ key: 'fz-too-large', value }] }),
        /larger than the max message size/,
      );
    }
    samples.forEach((value, i) => {
      if ((value?.length ?? 0) <= BROKER_LIMIT)
        requests.push({ key: `fz-req-${i}`, value, headers: { [HEADERS.replyTo]: `${prefix}fz-header-${i}` } });
    });
    // No reply channel anywhere: nobody can be told; the consumer counts them.
    for (let i = 0; i < UNREPLYABLE_REQUESTS; i++)
      requests.push({
        key: `fz-noreply-${i}`,
        value: i % 2 ? Buffer.from('{not json') : Buffer.from(JSON.stringify({ schemaVersion: 1, id: `fz-noreply-${i}` })),
        headers: {},
      });

    const expectedReplies = new Map<string, { id: string; code: string | null }>();
    let expectedExpired = 0;
    let expectedUnreplyable = 0;
    let expectedLetters = 0;
    for (const r of requests) {
      const header = r.headers[HEADERS.replyTo]?.toString() ?? null;
      const result = decodeSearchRequest(r.value, limits);
      if (result.ok) {
        if (result.request.deadline <= Date.now() + 60_000) expectedExpired++;
        else expectedReplies.set(result.request.replyTo, { id: result.request.id, code: null });
        continue;
      }
      if (result.error.code === 'invalid-json') expectedLetters++;
      const channel = result.error.code === 'invalid-json' ? header : (result.replyTo ?? header);
      if (channel === null) expectedUnreplyable++;
      else
        expectedReplies.set(channel, { id: result.error.code === 'invalid-json' ? r.key : (result.id ?? r.key), code: result.error.code });
    }
    assert.equal(expectedReplies.size + expectedExpired + expectedUnreplyable, requests.length, 'reply channels are distinct');

    const expired = (): Promise<number> => stack.metrics.value('searchbus_search_expired_total');
    const unreplyable = (): Promise<number> => stack.metrics.value('searchbus_search_unreplyable_total');
    const [expiredBefore, unreplyableBefore] = [await expired(), await unreplyable()];
    const lettersBefore = deadLetters.filter((l) => l.headers[HEADERS.sourceTopic]?.toString() === h.topology.topics.searchRequests).length;
    await sendInBatches(raw, h.topology.topics.searchRequests, requests);
    process.stderr.write(
      `search: ${requests.length} requests published, ${refused.length} refused by the broker as too large (${[...expectedReplies.values()].filter((e) => e.code === null).length} expecting hits, ${[...expectedReplies.values()].filter((e) => e.code !== null).length} an error reply, ${expectedExpired} expired, ${expectedUnreplyable} unreplyable, ${expectedLetters} dead letters)\n`,
    );

    await waitFor(
      `${expectedReplies.size} replies`,
      () => Promise.resolve([...expectedReplies.keys()].every((c) => replies.has(c)) ? true : undefined),
      REPLY_WAIT_MS,
      250,
    );
    await waitFor(
      'expired and unreplyable requests counted',
      async () =>
        (await expired()) - expiredBefore === expectedExpired && (await unreplyable()) - unreplyableBefore === expectedUnreplyable
          ? true
          : undefined,
      REPLY_WAIT_MS,
      250,
    );
    await waitFor(
      'undecodable requests dead-lettered',
      () =>
        Promise.resolve(
          deadLetters.filter((l) => l.headers[HEADERS.sourceTopic]?.toString() === h.topology.topics.searchRequests).length -
            lettersBefore >=
            expectedLetters
            ? true
            : undefined,
        ),
      REPLY_WAIT_MS,
      250,
    );

    for (const [channel, expected] of expectedReplies) {
      const got = replies.get(channel) ?? [];
      assert.equal(got.length, 1, `one reply on ${channel}`);
      const reply = got[0]!;
      assert.equal(reply.id, expected.id, `${channel}: reply id`);
      if (expected.code === null)
        assert.ok('hits' in reply && Array.isArray(reply.hits), `${channel}: hits, got ${JSON.stringify(reply).slice(0, 300)}`);
      else assert.equal('error' in reply ? reply.error.code : 'hits', expected.code, `${channel}: error code`);
    }
    assert.equal(
      deadLetters.filter((l) => l.headers[HEADERS.sourceTopic]?.toString() === h.topology.topics.searchRequests).length - lettersBefore,
      expectedLetters,
    );
    assert.equal((await expired()) - expiredBefore, expectedExpired);
    assert.equal((await unreplyable()) - unreplyableBefore, expectedUnreplyable);
    assert.equal(stack.consumer.state, 'running');
    assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), prototypeBefore, 'Object.prototype unchanged');
  });
});

/** Sends records a few at a time: the broker's size limit applies to a whole batch, not one record. */
async function sendInBatches(
  producer: Producer,
  topic: string,
  messages: Array<{ key: Buffer | string; value: Buffer | null; headers: IHeaders }>,
): Promise<void> {
  let batch: typeof messages = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.value?.length ?? 0;
    if (batch.length > 0 && (bytes + size > 256 * 1024 || batch.length >= 50)) {
      await producer.send({ topic, acks: -1, messages: batch });
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
}
