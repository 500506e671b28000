import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchTrace } from '../../../consumers/runtime/index.ts';
import {
  contextFromHeaders,
  contextFromValues,
  HEADERS,
  inSpan,
  isTraced,
  parseSearchRequest,
  SpanKind,
  traceHeaders,
} from '../../../topology/index.ts';

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const limits = { maxTopK: 100, replyChannelPrefix: 'ns:reply:' };
const request = { schemaVersion: 1, id: 'r1', query: { text: 'q' }, topK: 3, replyTo: 'ns:reply:c1', deadline: Date.now() + 60_000 };

// Tests run in order: the first two without an SDK (the API's no-ops), the rest with one.
describe('trace context', () => {
  const memory = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(memory);
  // Export can wait on resource detection: flush before reading.
  const finishedSpans = async (): Promise<ReturnType<InMemorySpanExporter['getFinishedSpans']>> => {
    await processor.forceFlush();
    return memory.getFinishedSpans();
  };
  let sdk: NodeSDK | undefined;
  after(() => sdk?.shutdown());

  it('without an SDK injects nothing and records nothing', async () => {
    assert.deepEqual(await inSpan('s', SpanKind.CLIENT, {}, () => Promise.resolve(traceHeaders())), {});
    const spans = new BatchTrace('b', [contextFromHeaders({ [HEADERS.traceparent]: VALID })]);
    assert.equal(await spans.step('x', () => Promise.resolve(7)), 7);
    spans.end();
  });

  it('keeps a search request whose trace fields are malformed, dropping the fields', () => {
    for (const bad of [42, null, '', 'x'.repeat(600), { a: 1 }]) {
      const decoded = parseSearchRequest({ ...request, traceparent: bad, tracestate: bad }, limits);
      assert.ok(decoded.ok, JSON.stringify(bad));
      assert.equal(decoded.request.traceparent, undefined);
    }
    const kept = parseSearchRequest({ ...request, traceparent: VALID, tracestate: 'k=v' }, limits);
    assert.ok(kept.ok);
    assert.equal(kept.request.traceparent, VALID);
    assert.equal(kept.request.tracestate, 'k=v');
  });

  it('with an SDK injects the active span as traceparent and extracts it from Buffer, string or array headers', async () => {
    sdk = new NodeSDK({
      spanProcessors: [processor],
      autoDetectResources: false,
      instrumentations: [],
      metricReaders: [],
      logRecordProcessors: [],
    });
    sdk.start();
    const headers = await inSpan('publish', SpanKind.PRODUCER, {}, () => Promise.resolve(traceHeaders()));
    const [span] = await finishedSpans();
    assert.ok(span);
    assert.equal(headers[HEADERS.traceparent], `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    for (const value of [Buffer.from(VALID), VALID, [Buffer.from(VALID)]]) {
      const ctx = contextFromHeaders({ [HEADERS.traceparent]: value });
      assert.equal(trace.getSpanContext(ctx)?.traceId, '0af7651916cd43dd8448eb211c80319c');
    }
    assert.ok(isTraced(contextFromValues({ traceparent: VALID })));
  });

  it('ignores malformed traceparent headers', () => {
    const bad = [
      '',
      'garbage',
      '00-zzzz-b7ad6b7169203331-01',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      Buffer.from([0xff, 0xfe, 0x00]),
      'x'.repeat(10_000),
      12 as unknown as string,
    ];
    for (const value of bad)
      assert.equal(isTraced(contextFromHeaders({ [HEADERS.traceparent]: value })), false, String(value).slice(0, 40));
    assert.equal(isTraced(contextFromHeaders(undefined)), false);
    assert.equal(isTraced(contextFromValues({ traceparent: 'nope', tracestate: 'k=v' })), false);
  });

  it('records each batch step under the consumer span of every distinct parent trace, or one root span', async () => {
    memory.reset();
    const a = contextFromHeaders({ [HEADERS.traceparent]: VALID });
    const b = contextFromValues({ traceparent: '00-11111111111111111111111111111111-2222222222222222-01' });
    const spans = new BatchTrace('process', [a, b, a, contextFromHeaders({ [HEADERS.traceparent]: 'bad' })]);
    await spans.step('embed', () => Promise.resolve());
    await assert.rejects(
      spans.step('qdrant', () => Promise.reject(new Error('down'))),
      /down/,
    );
    spans.end();
    const finished = await finishedSpans();
    const processes = finished.filter((s) => s.name === 'process');
    assert.deepEqual(processes.map((s) => s.spanContext().traceId).sort(), [
      '0af7651916cd43dd8448eb211c80319c',
      '11111111111111111111111111111111',
    ]);
    for (const p of processes) {
      const children = finished.filter((s) => s.parentSpanContext?.spanId === p.spanContext().spanId);
      assert.deepEqual(children.map((c) => c.name).sort(), ['embed', 'qdrant']);
      assert.equal(children.find((c) => c.name === 'qdrant')?.status.code, 2, 'the failed step is an error');
    }
    memory.reset();
    const root = new BatchTrace('process', [ROOT_CONTEXT, context.active()]);
    await root.step('embed', () => Promise.resolve());
    root.end();
    const rooted = await finishedSpans();
    assert.deepEqual(rooted.map((s) => s.name).sort(), ['embed', 'process']);
    assert.equal(rooted.find((s) => s.name === 'process')?.parentSpanContext, undefined);
  });
});
