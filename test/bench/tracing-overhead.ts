// What the tracing hooks cost per consumer batch, with no OpenTelemetry SDK started (the default:
// OTEL_EXPORTER_OTLP_ENDPOINT unset) and, for reference, with the SDK and a span processor that
// drops every span. Each variant wraps the same three awaited steps (embed, Qdrant, Redis) of a
// batch of 16 records, side by side in one process, interleaved, so shared cores slow all alike.
// Run: node --import tsx test/bench/tracing-overhead.ts
import { loadavg } from 'node:os';
import type { IHeaders } from 'kafkajs';
import { BatchTrace } from '../../consumers/runtime/index.ts';
import { contextFromHeaders, HEADERS, traceHeaders } from '../../topology/index.ts';

const BATCH = 16;
const ROUNDS = 5;
const BATCHES = 20_000;
const traced: IHeaders[] = Array.from({ length: BATCH }, (_, i) => ({
  [HEADERS.traceparent]: Buffer.from(`00-${'1'.repeat(24)}${String(1000 + i).padStart(8, '0')}-${'2'.repeat(16)}-01`),
}));
const step = (): Promise<number> => Promise.resolve(1);

async function plain(): Promise<void> {
  await step();
  await step();
  await step();
}

async function withHooks(): Promise<void> {
  traceHeaders();
  const spans = new BatchTrace('process', traced.map(contextFromHeaders), { 'messaging.batch.message_count': BATCH });
  await spans.step('embed', step);
  await spans.step('qdrant query', step);
  await spans.step('redis publish', step);
  spans.end();
}

async function time(fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < BATCHES; i++) await fn();
  return Number(process.hrtime.bigint() - started) / BATCHES;
}

async function measure(label: string): Promise<{ label: string; baselineNs: number; hooksNs: number; overheadNs: number }> {
  const base: number[] = [];
  const hooks: number[] = [];
  await time(plain);
  await time(withHooks);
  for (let r = 0; r < ROUNDS; r++) {
    base.push(await time(plain));
    hooks.push(await time(withHooks));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const baselineNs = median(base);
  const hooksNs = median(hooks);
  return { label, baselineNs: Math.round(baselineNs), hooksNs: Math.round(hooksNs), overheadNs: Math.round(hooksNs - baselineNs) };
}

const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const results = [await measure('no SDK (OTEL_EXPORTER_OTLP_ENDPOINT unset)')];
{
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  // Records every span, exports none: the SDK's own cost without the network.
  const drop = { onStart: () => undefined, onEnd: () => undefined, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  const sdk = new NodeSDK({
    spanProcessors: [drop],
    autoDetectResources: false,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  results.push(await measure(`SDK started, ${BATCH} traced records per batch`));
  await sdk.shutdown();
}
process.stdout.write(
  `${JSON.stringify({ batch: BATCH, batches: BATCHES, rounds: ROUNDS, loadavg: load, node: process.version, results }, null, 2)}\n`,
);
