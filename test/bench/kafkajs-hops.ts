// Where bare kafkajs spends broker append -> eachBatch, measured on the consumer's own socket.
// kafkajs-floor.ts found append -> delivered at ~6.5 ms for kafkajs against ~2.6 ms for the Java
// client; this splits that hop. Every request the consumer writes and every response it reads is
// timestamped at the socket (the consumer has one connection to the single broker, so Fetch,
// OffsetCommit and Heartbeat share it in order), and each record's trip is cut at:
//   broker append (LogAppendTime) | the Fetch that returned it was written | its response's first
//   and last byte arrived | eachBatch called.
// A Fetch written before the append was parked in the broker's fetch purgatory; one written after
// means the record waited for the client to ask, and the socket shows what the client did instead.
// Variants, connected at once and measured in alternating turns so the load reaches all alike:
//   - kafkajs defaults (autoCommit: an OffsetCommit round trip after every batch, before the next Fetch);
//   - autoCommit off (what searchbus' query path does: it commits in the background);
//   - kafkajs defaults, paced: the next record 15 ms after the last delivery (a search's embed +
//     Qdrant time), so the commit is over when it is produced.
// Run: node infra/cli/bin.mjs infra run -- node --import tsx test/bench/kafkajs-hops.ts [--messages 150] [--json <path>]
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Consumer, type ISocketFactory, type Producer } from 'kafkajs';
import { getServices } from '../../infra/index.ts';
import { percentile } from '../../infra/eval/index.ts';
import { now, tapSocket, type Exchange } from './kafka-socket-tap.ts';

const { values } = parseArgs({
  options: { json: { type: 'string' }, messages: { type: 'string', default: '150' }, 'idle-consumers': { type: 'string', default: '0' } },
});
/** Extra consumers, each of its own group and topic, long-polling (maxWait 20 ms) with nothing to read. */
const IDLE_CONSUMERS = Number(values['idle-consumers']);
const MESSAGES = Number(values.messages);
const ROUNDS = 5;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
/** A socket factory whose sockets are tapped (kafka-socket-tap.ts). */
function tappedSocketFactory(exchanges: Exchange[]): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    tapSocket(socket, exchanges);
    return socket;
  };
}

interface Variant {
  name: string;
  autoCommit: boolean;
  /** Wait this long after a delivery before producing the next record (a search's own work). */
  paceMs: number;
  /** Busy-wait to the next millisecond's edge before sending, as kafkajs-floor.ts does. */
  spin?: boolean;
}
interface Sample {
  total: number;
  sendToAppend: number;
  appendToFetchWritten: number;
  /** The Fetch that returned the record was in the broker's purgatory at the append. */
  parked: boolean;
  appendToFirstByte: number;
  fetchRoundTrip: number;
  lastByteToEachBatch: number;
  appendToEachBatch: number;
  /** Requests other than Fetch written between the previous delivery and this record's Fetch. */
  between: string[];
}
interface Rig {
  variant: Variant;
  topic: string;
  producer: Producer;
  consumer: Consumer;
  exchanges: Exchange[];
  waiting: Map<string, (at: { delivered: number; appended: number }) => void>;
  samples: Sample[];
  lastDelivered: number;
}

const services = await getServices({ log, need: ['kafka'] });
const plain = new Kafka({ clientId: 'bench-kafkajs-hops', brokers: services.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = plain.admin();
await admin.connect();
const topics: string[] = [];

async function createTopic(name: string): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: name, numPartitions: 3, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
  });
  for (let attempt = 1; ; attempt++) {
    const ready = await admin.fetchTopicMetadata({ topics: [name] }).then(
      ({ topics: [t] }) => t !== undefined && t.partitions.length === 3 && t.partitions.every((p) => p.leader >= 0),
      () => false,
    );
    if (ready) return;
    if (attempt >= 100) throw new Error(`topic ${name} has no leaders after ${attempt} checks`);
    await delay(100);
  }
}

async function rig(variant: Variant): Promise<Rig> {
  const topic = `bench-hops-${randomUUID().slice(0, 8)}`;
  await createTopic(topic);
  topics.push(topic);
  const exchanges: Exchange[] = [];
  const producer = plain.producer({ allowAutoTopicCreation: false });
  // The consumer alone on a tapped client, so its socket carries nothing but its own requests.
  const consumer = new Kafka({
    clientId: 'bench-kafkajs-hops-consumer',
    brokers: services.kafka.brokers,
    socketFactory: tappedSocketFactory(exchanges),
    logLevel: logLevel.NOTHING,
  }).consumer({
    groupId: `hops-${randomUUID().slice(0, 8)}`,
    maxWaitTimeInMs: 20,
    minBytes: 1,
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const waiting: Rig['waiting'] = new Map();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    autoCommit: variant.autoCommit,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      const delivered = now();
      for (const m of batch.messages) waiting.get(m.key?.toString() ?? '')?.({ delivered, appended: Number(m.timestamp) });
      await Promise.resolve();
    },
  });
  await joined;
  const r: Rig = { variant, topic, producer, consumer, exchanges, waiting, samples: [], lastDelivered: now() };
  for (let attempt = 1; ; attempt++) {
    try {
      await roundTrip(r, `warm-${attempt}`, false);
      break;
    } catch (error) {
      if (attempt >= 10) throw error;
      await delay(500);
    }
  }
  return r;
}

async function roundTrip(r: Rig, key: string, record = true): Promise<void> {
  if (r.variant.paceMs > 0) await delay(Math.max(0, r.lastDelivered + r.variant.paceMs - now()));
  const arrived = new Promise<{ delivered: number; appended: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`record ${key} not delivered within 60 s`)), 60_000);
    r.waiting.set(key, (at) => {
      clearTimeout(timer);
      resolve(at);
    });
  });
  if (r.variant.spin) {
    const edge = Date.now();
    while (Date.now() === edge);
  }
  const sent = now();
  const ack = r.producer.send({
    topic: r.topic,
    acks: -1,
    messages: [{ key, value: JSON.stringify({ key, text: 'a search request of about this size' }) }],
  });
  const [{ delivered, appended }] = await Promise.all([arrived, ack]).finally(() => r.waiting.delete(key));
  const previous = r.lastDelivered;
  r.lastDelivered = delivered;
  if (!record) return;
  // The Fetch whose response ended last before eachBatch ran carried the record.
  const fetches = r.exchanges.filter((e) => e.api === 'Fetch' && e.lastByte !== undefined && e.lastByte <= delivered);
  const fetch = fetches[fetches.length - 1];
  if (!fetch?.firstByte || !fetch.lastByte) return;
  const between = r.exchanges.filter((e) => e.api !== 'Fetch' && e.written >= previous && e.written <= fetch.written).map((e) => e.api);
  fetchVersion = fetch.version;
  r.samples.push({
    total: delivered - sent,
    sendToAppend: appended - sent,
    appendToFetchWritten: fetch.written - appended,
    parked: fetch.written < appended,
    appendToFirstByte: fetch.firstByte - appended,
    fetchRoundTrip: fetch.firstByte - fetch.written,
    lastByteToEachBatch: delivered - fetch.lastByte,
    appendToEachBatch: delivered - appended,
    between,
  });
  // Keep the log short: exchanges older than this delivery are done with.
  r.exchanges.splice(0, r.exchanges.indexOf(fetch));
}

const variants: Variant[] = [
  { name: 'kafkajs defaults: autoCommit after every batch', autoCommit: true, paceMs: 0 },
  { name: 'autoCommit off (searchbus commits in the background)', autoCommit: false, paceMs: 0 },
  { name: 'kafkajs defaults, next record 15 ms after delivery', autoCommit: true, paceMs: 15 },
  { name: 'autoCommit off, send on a millisecond edge (as kafkajs-floor.ts)', autoCommit: false, paceMs: 0, spin: true },
];

let fetchVersion = -1;
const rigs: Rig[] = [];
const idle: Consumer[] = [];
const p = (xs: number[], q: number): number => Number(percentile(xs, q).toFixed(2));
try {
  for (const v of variants) rigs.push(await rig(v));
  for (let i = 0; i < IDLE_CONSUMERS; i++) {
    const topic = `bench-hops-idle-${randomUUID().slice(0, 8)}`;
    await createTopic(topic);
    topics.push(topic);
    const consumer = plain.consumer({ groupId: `hops-idle-${randomUUID().slice(0, 8)}`, maxWaitTimeInMs: 20, minBytes: 1 });
    idle.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachBatch: () => Promise.resolve() });
  }
  const perTurn = Math.max(1, Math.round(MESSAGES / ROUNDS));
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of rigs) for (let i = 0; i < perTurn; i++) await roundTrip(r, `r${round}-${i}-${randomUUID().slice(0, 6)}`);
    log(`round ${round + 1}/${ROUNDS}; load ${loadavg()[0]!.toFixed(1)}`);
  }
  const result = {
    load_average: loadavg(),
    idle_consumers: IDLE_CONSUMERS,
    fetch_request_version: fetchVersion,
    messages_per_variant: perTurn * ROUNDS,
    variants: rigs.map(({ variant, samples }) => {
      const parked = samples.filter((s) => s.parked);
      const late = samples.filter((s) => !s.parked);
      const betweenCounts: Record<string, number> = {};
      for (const s of late) for (const api of s.between) betweenCounts[api] = (betweenCounts[api] ?? 0) + 1;
      const col = (f: (s: Sample) => number, xs = samples) => ({ p50: p(xs.map(f), 50), p99: p(xs.map(f), 99) });
      return {
        variant: variant.name,
        samples: samples.length,
        produce_to_each_batch_ms: col((s) => s.total),
        send_to_append_ms: col((s) => s.sendToAppend),
        append_to_each_batch_ms: col((s) => s.appendToEachBatch),
        fetch_parked_at_append: parked.length,
        fetch_written_after_append: late.length,
        parked: parked.length
          ? {
              append_to_response_ms: col((s) => s.appendToFirstByte, parked),
              response_to_each_batch_ms: col((s) => s.lastByteToEachBatch, parked),
            }
          : null,
        written_after_append: late.length
          ? {
              append_to_fetch_written_ms: col((s) => s.appendToFetchWritten, late),
              fetch_round_trip_ms: col((s) => s.fetchRoundTrip, late),
              response_to_each_batch_ms: col((s) => s.lastByteToEachBatch, late),
              requests_written_before_that_fetch: betweenCounts,
            }
          : null,
      };
    }),
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const c of idle) await c.disconnect().catch(() => undefined);
  for (const r of rigs) {
    await r.consumer.disconnect().catch(() => undefined);
    await r.producer.disconnect().catch(() => undefined);
  }
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  await services.close();
}
