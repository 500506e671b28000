// The spans of a consumer's batch, through @opentelemetry/api only (no-ops without an SDK).
// A batch mixes messages of many traces (one document or search each). Each traced message gets a
// consumer span in its own trace, and every step of the batch (embed, Qdrant, Redis) appears under
// each of them with the batch's timing, so a single trace shows the whole path. Messages without a
// valid traceparent share one root span for the batch.
import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { recordFailure, tracer } from '../../topology/index.ts';

/** Wall-clock now with sub-millisecond precision, as a span time input. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The spans of one consumer batch: a consumer span per distinct parent trace (or one root span),
 * and steps recorded under each. Call end() once the batch is done.
 */
export class BatchTrace {
  private readonly spans: Span[];
  private readonly recording: boolean;

  constructor(name: string, parents: readonly Context[], attributes: Attributes = {}) {
    const t = tracer();
    const seen = new Set<string>();
    const distinct = parents.filter((p) => {
      const sc = trace.getSpanContext(p);
      if (!sc || !trace.isSpanContextValid(sc)) return false;
      const id = `${sc.traceId}/${sc.spanId}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    const options = { kind: SpanKind.CONSUMER, attributes };
    this.spans = distinct.length > 0 ? distinct.map((p) => t.startSpan(name, options, p)) : [t.startSpan(name, options, ROOT_CONTEXT)];
    this.recording = this.spans.some((s) => s.isRecording());
  }

  /** Runs `fn` and records it as a child span of every consumer span, with the same timing. */
  async step<T>(name: string, fn: () => Promise<T>, options: { kind?: SpanKind; attributes?: Attributes } = {}): Promise<T> {
    if (!this.recording) return fn();
    const startTime = now();
    let failure: unknown;
    let failed = false;
    try {
      return await fn();
    } catch (error) {
      failed = true;
      failure = error;
      throw error;
    } finally {
      const endTime = now();
      for (const parent of this.spans) {
        const span = tracer().startSpan(
          name,
          { kind: options.kind ?? SpanKind.INTERNAL, startTime, ...(options.attributes ? { attributes: options.attributes } : {}) },
          trace.setSpan(ROOT_CONTEXT, parent),
        );
        if (failed) recordFailure(span, failure);
        span.end(endTime);
      }
    }
  }

  setAttributes(attributes: Attributes): void {
    if (this.recording) for (const span of this.spans) span.setAttributes(attributes);
  }

  end(error?: unknown): void {
    for (const span of this.spans) {
      if (error !== undefined) recordFailure(span, error);
      span.end();
    }
  }
}
