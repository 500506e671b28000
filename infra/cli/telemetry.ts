import { closeOnce, type SearchbusConfig } from '../../topology/index.ts';

/** A started OpenTelemetry SDK; close() flushes the spans still queued and shuts it down. Idempotent. */
export interface Telemetry {
  close(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK when OTEL_EXPORTER_OTLP_ENDPOINT is set, exporting traces over
 * OTLP (protocol, headers, sampler and resource from the standard OTEL_* variables). Otherwise
 * returns null without loading the SDK: the API stays a no-op and tracing costs nothing. Metrics
 * stay with prom-client on /metrics and logs on stderr, so the SDK exports neither.
 */
export async function startTelemetry(config: SearchbusConfig, serviceName: string): Promise<Telemetry | null> {
  if (config.otlpEndpoint === null) return null;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME?.trim() || serviceName,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { close: closeOnce(() => sdk.shutdown()) };
}
