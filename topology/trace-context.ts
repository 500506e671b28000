// W3C trace context on the bus: the header and envelope names (HEADERS.traceparent/tracestate), and
// injecting/extracting them through @opentelemetry/api. Without an SDK started (see
// infra/cli/telemetry.ts) the API's global propagator and tracer are no-ops: nothing is
// injected and spans do not record, so an untraced process pays a few function calls.
// A malformed or oversized traceparent is ignored: it yields no span context, and the message is
// handled as untraced, never refused.
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import { TRACE_HEADERS } from './names.ts';

export { SpanKind };
export const TRACER_NAME = 'searchbus';

export function tracer(): ReturnType<typeof trace.getTracer> {
  return trace.getTracer(TRACER_NAME);
}

/** The most a traceparent or tracestate value may be; longer values are ignored, unread. */
const MAX_TRACE_VALUE_LENGTH = 512;

/** Trace context of `ctx` (default: the active one) as record headers; empty when nothing is traced. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const headers: Record<string, string> = {};
  for (const name of TRACE_HEADERS) if (carrier[name] !== undefined) headers[name] = carrier[name];
  return headers;
}

const kafkaHeaderGetter: TextMapGetter<IHeaders | undefined> = {
  keys: (carrier) => TRACE_HEADERS.filter((name) => carrier?.[name] !== undefined),
  get: (carrier, key) => traceValue(carrier?.[key]),
};

/** The context a record's trace headers name, or the root context when they are absent or malformed. */
export function contextFromHeaders(headers: IHeaders | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, kafkaHeaderGetter);
}

/** The context named by traceparent/tracestate values (e.g. from a request envelope). */
export function contextFromValues(values: Partial<Record<(typeof TRACE_HEADERS)[number], unknown>>): Context {
  const carrier: Record<string, string> = {};
  for (const name of TRACE_HEADERS) {
    const value = traceValue(values[name]);
    if (value !== undefined) carrier[name] = value;
  }
  if (carrier.traceparent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** A header or field value usable as trace context, or undefined (wrong type, too long, not text). */
export function traceValue(raw: unknown): string | undefined {
  const first = Array.isArray(raw) ? (raw as unknown[])[0] : raw;
  const value = Buffer.isBuffer(first) ? first.toString('latin1') : first;
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TRACE_VALUE_LENGTH ? value : undefined;
}

export function isTraced(ctx: Context): boolean {
  const span = trace.getSpanContext(ctx);
  return span !== undefined && trace.isSpanContextValid(span);
}

export function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Runs `fn` inside a new active span (client side: a search, a publish); ends it either way. */
export async function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Runs `fn` inside a new active span whose parent is `parent` rather than the active context: a
 * server span continuing a caller's trace (an HTTP request's traceparent), or a root span when the
 * caller sent none. Ends it either way.
 */
export function inSpanUnder<T>(
  parent: Context,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return context.with(parent, () => inSpan(name, kind, attributes, fn));
}
