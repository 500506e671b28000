// A minimal reproduction of what kafkajs itself costs on the search path, with no searchbus code:
//  A. The pending-request timer (kafkajs 2.2.4, src/network/requestQueue/index.js): after the first
//     response on a connection, `scheduleCheckPendingRequests` arms a setTimeout even when nothing
//     is pending (delay <= 0, so Node makes it 1 ms), and its callback arms the next one: every
//     open broker connection wakes the event loop about 1,000 times a second, forever. Measured:
//     timer callbacks per second and CPU per second of an idle process holding a producer and a
//     consumer, unpatched, then with the one-line fix (schedule only while requests are pending),
//     side by side in this process.
//  B. Produce -> eachBatch latency of bare kafkajs on one broker (LogAppendTime on the topic, so
//     the broker's append splits it into client -> broker and broker -> consumer), for the
//     settings searchbus' query path uses and variants of them. Like the Java baseline, which
//     commits nothing, the variants run with autoCommit off (the query path commits in the
//     background); one variant keeps kafkajs' default, which awaits an OffsetCommit after every
//     batch before its next Fetch: a record produced meanwhile waits for that round trip
//     (kafkajs-hops.ts shows it on the consumer's socket).
// Run: node infra/cli/bin.mjs infra run -- node --import tsx test/bench/kafkajs-floor.ts [--json <path>] [--messages 150]
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import net from 'node:net';
import { Kafka, logLevel, type Consumer, type ISocketFactory, type Producer } from 'kafkajs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getServices } from '../../infra/index.ts';
import { ensureKafkaClasspath } from '../../infra/local/index.ts';
import { percentile } from '../../infra/eval/index.ts';
import { fetchBefore, tapSocket, type Exchange } from './kafka-socket-tap.ts';

const { values } = parseArgs({
  options: { json: { type: 'string' }, messages: { type: 'string', default: '150' }, 'idle-seconds': { type: 'string', default: '3' } },
});
const MESSAGES = Number(values.messages);
const IDLE_MS = Number(values['idle-seconds']) * 1000;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

interface QueueInstance {
  pending: unknown[];
}
interface RequestQueueClass {
  prototype: QueueInstance & {
    checkPendingRequests: (this: QueueInstance) => void;
    scheduleCheckPendingRequests: (this: QueueInstance) => void;
  };
}
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
const original = RequestQueue.prototype.scheduleCheckPendingRequests;
let checks = 0;
const check = RequestQueue.prototype.checkPendingRequests;
RequestQueue.prototype.checkPendingRequests = function (this: QueueInstance) {
  checks += 1;
  check.call(this);
};
/** The fix: arm the timer only while a request waits (throttled or over maxInFlightRequests). */
function patched(this: QueueInstance): void {
  if (this.pending.length === 0) return;
  original.call(this);
}

const services = await getServices({ log });
// Bare kafkajs (no searchbus client settings), plaintext: kafkajs' own socket factory is
// net.connect, which leaves Nagle's algorithm on; `noDelay` turns it off (TCP_NODELAY).
// A rig's sockets are tapped (kafka-socket-tap.ts), to tell whether the Fetch that returned a record
// was already parked in the broker at its append or written after it.
const socketFactory =
  (noDelay: boolean, exchanges?: Exchange[]): ISocketFactory =>
  ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    if (noDelay) socket.setNoDelay(true);
    if (exchanges) tapSocket(socket, exchanges);
    return socket;
  };
const bareKafka = (noDelay: boolean, exchanges?: Exchange[]): Kafka =>
  new Kafka({
    clientId: 'bench-kafkajs-floor',
    brokers: services.kafka.brokers,
    socketFactory: socketFactory(noDelay, exchanges),
    logLevel: logLevel.NOTHING,
  });
const kafka = bareKafka(false);
const admin = kafka.admin();
await admin.connect();
const topic = `bench-floor-${randomUUID().slice(0, 8)}`;
/** A 3-partition LogAppendTime topic, once every partition has a leader. */
async function createTopic(name: string): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: name, numPartitions: 3, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
  });
  // kafkajs' own waitForLeaders throws when the broker does not know the topic yet.
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
await createTopic(topic);

const now = (): number => performance.timeOrigin + performance.now();
const javaTopic = `${topic}-java`;
await createTopic(javaTopic);

async function idleCost(label: string): Promise<{ label: string; timer_callbacks_per_s: number; cpu_ms_per_s: number }> {
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `floor-idle-${randomUUID().slice(0, 8)}`, maxWaitTimeInMs: 500 });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({ eachBatch: () => Promise.resolve() });
  await producer.send({ topic, messages: [{ key: 'idle', value: 'x' }] });
  await delay(500);
  checks = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await delay(IDLE_MS);
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  const result = { label, timer_callbacks_per_s: checks / seconds, cpu_ms_per_s: (used.user + used.system) / 1000 / seconds };
  await consumer.disconnect();
  await producer.disconnect();
  return result;
}

interface Variant {
  name: string;
  noDelay?: boolean;
  /** kafkajs with the timer fix during this variant's turns (the patch is process-wide, so it is switched per turn). */
  timerFix?: boolean;
  consumer: Omit<Parameters<Kafka['consumer']>[0], 'groupId'>;
  partitionsConsumedConcurrently: number;
  acks: number;
  /** kafkajs' autoCommit (its default is on: an OffsetCommit after every batch, awaited). Default off. */
  autoCommit?: boolean;
}

interface Rig {
  variant: Variant;
  topic: string;
  producer: Producer;
  consumer: Consumer;
  waiting: Map<string, (at: { fetched: number; appended: number }) => void>;
  samples: { total: number[]; toBroker: number[]; fromBroker: number[]; acked: number[]; parked: number };
  exchanges: Exchange[];
}

/** A producer and a consumer group of their own on a topic of their own, joined and fetching. */
async function rig(variant: Variant): Promise<Rig> {
  const topic = `${baseTopic}-${randomUUID().slice(0, 6)}`;
  await createTopic(topic);
  topics.push(topic);
  const exchanges: Exchange[] = [];
  const client = bareKafka(variant.noDelay ?? false, exchanges);
  const producer = client.producer({ allowAutoTopicCreation: false });
  const consumer = client.consumer({ ...variant.consumer, groupId: `floor-${randomUUID().slice(0, 8)}` });
  await producer.connect();
  await consumer.connect();
  // From the beginning: the topic is new and empty, and a record sent before the group's first
  // fetch must not be skipped as "before latest".
  await consumer.subscribe({ topic, fromBeginning: true });
  const waiting: Rig['waiting'] = new Map();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    autoCommit: variant.autoCommit ?? false,
    partitionsConsumedConcurrently: variant.partitionsConsumedConcurrently,
    eachBatch: async ({ batch }) => {
      const fetched = now();
      for (const m of batch.messages) waiting.get(m.key?.toString() ?? '')?.({ fetched, appended: Number(m.timestamp) });
      await Promise.resolve();
    },
  });
  await joined;
  const r: Rig = {
    variant,
    topic,
    producer,
    consumer,
    waiting,
    exchanges,
    samples: { total: [], toBroker: [], fromBroker: [], acked: [], parked: 0 },
  };
  // The first fetch of every partition has happened once a record went through. A topic just
  // created may not be in every broker cache yet: the first sends may be refused.
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
  const arrived = new Promise<{ fetched: number; appended: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`record ${key} not delivered within 60 s`)), 60_000);
    r.waiting.set(key, (at) => {
      clearTimeout(timer);
      resolve(at);
    });
  });
  // The broker stamps whole milliseconds of the wall clock: start on a millisecond's edge and
  // take the wall clock's offset from the monotonic one there.
  const edge = Date.now();
  while (Date.now() === edge);
  const offset = Date.now() - performance.now();
  const sent = performance.now();
  let ackedAt = NaN;
  const ack = r.producer
    .send({
      topic: r.topic,
      acks: r.variant.acks,
      messages: [{ key, value: JSON.stringify({ key, text: 'a search request of about this size' }) }],
    })
    .then(() => (ackedAt = performance.now()));
  // A failed send rejects at once (the record never arrives).
  const [{ fetched, appended }] = await Promise.all([arrived, ack]).finally(() => r.waiting.delete(key));
  if (!record) return;
  const fetchedPerf = fetched - performance.timeOrigin;
  r.samples.total.push(fetchedPerf - sent);
  r.samples.toBroker.push(appended - (sent + offset));
  r.samples.fromBroker.push(fetchedPerf + offset - appended);
  r.samples.acked.push(ackedAt - sent);
  const fetch = fetchBefore(r.exchanges, fetched);
  if (fetch && fetch.written < appended) r.samples.parked += 1;
  r.exchanges.splice(0, Math.max(0, r.exchanges.length - 50));
}

const stats = (xs: number[]): { p50: number; p99: number } => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) });
const ROUNDS = 5;
const topics: string[] = [];
const baseTopic = `bench-floor-${randomUUID().slice(0, 8)}`;

async function javaBaseline(maxWaitMs: string, records: number): Promise<Record<string, unknown>> {
  const libs = await ensureKafkaClasspath(log);
  const source = fileURLToPath(new URL('./java/KafkaEndToEnd.java', import.meta.url));
  const { stdout } = await promisify(execFile)(
    'java',
    ['-cp', `${libs}/*`, source, services.kafka.brokers.join(','), javaTopic, String(records), maxWaitMs],
    { timeout: 300_000 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no result from the Java client: ${stdout.slice(-500)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

const variants: Variant[] = [
  {
    name: 'query consumer settings (maxWait 20 ms, minBytes 1, 3 partitions at once, acks -1, no commit awaited)',
    consumer: { maxWaitTimeInMs: 20, minBytes: 1 },
    partitionsConsumedConcurrently: 3,
    acks: -1,
  },
  {
    name: 'kafkajs default autoCommit (an OffsetCommit awaited after every batch, before the next Fetch)',
    autoCommit: true,
    consumer: { maxWaitTimeInMs: 20, minBytes: 1 },
    partitionsConsumedConcurrently: 3,
    acks: -1,
  },
  { name: 'maxWait 500 ms', consumer: { maxWaitTimeInMs: 500, minBytes: 1 }, partitionsConsumedConcurrently: 3, acks: -1 },
  { name: 'maxWait 5 ms', consumer: { maxWaitTimeInMs: 5, minBytes: 1 }, partitionsConsumedConcurrently: 3, acks: -1 },
  { name: 'acks 1', consumer: { maxWaitTimeInMs: 20, minBytes: 1 }, partitionsConsumedConcurrently: 3, acks: 1 },
  { name: 'one partition at a time', consumer: { maxWaitTimeInMs: 20, minBytes: 1 }, partitionsConsumedConcurrently: 1, acks: -1 },
  {
    name: 'TCP_NODELAY on the client sockets',
    noDelay: true,
    consumer: { maxWaitTimeInMs: 20, minBytes: 1 },
    partitionsConsumedConcurrently: 3,
    acks: -1,
  },
  {
    name: 'timer armed only while requests are pending',
    timerFix: true,
    consumer: { maxWaitTimeInMs: 20, minBytes: 1 },
    partitionsConsumedConcurrently: 3,
    acks: -1,
  },
];

const rigs: Rig[] = [];
try {
  const idle = [await idleCost('kafkajs 2.2.4 as shipped')];
  RequestQueue.prototype.scheduleCheckPendingRequests = patched;
  idle.push(await idleCost('with the timer armed only while requests are pending'));
  RequestQueue.prototype.scheduleCheckPendingRequests = original;
  log(`idle: ${JSON.stringify(idle)}`);

  // Every variant connected at once, measured in turns, round after round, and the Java client
  // once per round: a change of load during the run reaches every variant alike.
  for (const variant of variants) rigs.push(await rig(variant));
  const javaRuns: Array<Record<string, unknown>> = [];
  const perTurn = Math.max(1, Math.round(MESSAGES / ROUNDS));
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of rigs) {
      RequestQueue.prototype.scheduleCheckPendingRequests = r.variant.timerFix ? patched : original;
      for (let i = 0; i < perTurn; i++) await roundTrip(r, `r${round}-${i}-${randomUUID().slice(0, 6)}`);
    }
    RequestQueue.prototype.scheduleCheckPendingRequests = original;
    javaRuns.push(
      await javaBaseline('500', perTurn).catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) })),
    );
    log(`round ${round + 1}/${ROUNDS} done; load ${loadavg()[0]!.toFixed(1)}`);
  }
  const latency = rigs.map((r) => ({
    variant: r.variant.name,
    produce_to_each_batch_ms: stats(r.samples.total),
    send_to_append_ms: stats(r.samples.toBroker),
    append_to_each_batch_ms: stats(r.samples.fromBroker),
    produce_ack_ms: stats(r.samples.acked),
    /** Records returned by a Fetch written in an earlier millisecond than their append (parked in the broker). */
    fetch_parked_at_append: r.samples.parked,
  }));
  const javaSamples = javaRuns.flatMap((j) =>
    (j as { samples?: { total: number[]; toAppend: number[]; fromAppend: number[] } }).samples
      ? [j as { samples: { total: number[]; toAppend: number[]; fromAppend: number[] } }]
      : [],
  );
  const java = {
    client: 'kafka-clients (Java), fetch.max.wait.ms 500, acks all',
    runs: javaRuns.length,
    failed: javaRuns.filter((j) => 'error' in j).map((j) => j.error),
    produce_to_poll_ms: stats(javaSamples.flatMap((j) => j.samples.total)),
    send_to_append_ms: stats(javaSamples.flatMap((j) => j.samples.toAppend)),
    append_to_poll_ms: stats(javaSamples.flatMap((j) => j.samples.fromAppend)),
  };

  const result = {
    kafkajs: (createRequire(import.meta.url)('kafkajs/package.json') as { version: string }).version,
    messages_per_variant: perTurn * ROUNDS,
    rounds: ROUNDS,
    load_average: loadavg(),
    idle,
    java_baseline: java,
    latency,
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  RequestQueue.prototype.scheduleCheckPendingRequests = original;
  for (const r of rigs) {
    await r.consumer.disconnect().catch(() => undefined);
    await r.producer.disconnect().catch(() => undefined);
  }
  await admin.deleteTopics({ topics: [topic, javaTopic, ...topics] }).catch(() => undefined);
  await admin.disconnect();
  await services.close();
}
