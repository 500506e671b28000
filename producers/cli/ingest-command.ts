import { loadConfig, createTopology, type SchemaError } from '../../topology/index.ts';
import { createKafka, getServices } from '../../infra/index.ts';
import { IngestProducer, openDocumentSource, type DocumentInput } from '../ingest/index.ts';
import type { Output } from './output.ts';
import { ProgressBar } from './progress-bar.ts';
import { startTelemetry } from './telemetry.ts';

export interface IngestSummary {
  published: number;
  rejected: Array<{ line: number; code: string; reason: string }>;
  seconds: number;
}

/** Publishes a JSONL file or BEIR folder to the ingest topic, validating each line locally first. */
export async function ingestCommand(out: Output, path: string, options: { tenant?: string; json?: boolean }): Promise<IngestSummary> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const source = openDocumentSource(path, options.tenant !== undefined ? { tenant: options.tenant } : {});
  const services = await getServices({ profile: 'up', need: ['kafka'], start: false, log: (l) => out.info(l) });
  const telemetry = await startTelemetry(config, 'searchbus-cli');
  const producer = new IngestProducer({ kafka: createKafka(services.kafka, 'searchbus-cli'), topic: topology.topics.ingest, startTimeoutMs: config.startTimeoutMs });
  const bar = new ProgressBar('ingest', source.bytes, 'B');
  const summary: IngestSummary = { published: 0, rejected: [], seconds: 0 };
  const started = performance.now();
  try {
    let pending: DocumentInput[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      await producer.upsert(pending);
      summary.published += pending.length;
      pending = [];
    };
    for await (const record of source.records()) {
      if ('error' in record) {
        const error: SchemaError = record.error;
        summary.rejected.push({ line: record.line, code: error.code, reason: error.message });
      } else {
        pending.push(record.document);
        if (pending.length >= 500) await flush();
      }
      bar.update(record.bytesRead, `${summary.published} docs`);
    }
    await flush();
  } finally {
    await producer.close();
    await services.stop();
    await telemetry?.shutdown();
  }
  summary.seconds = (performance.now() - started) / 1000;
  const rate = summary.seconds > 0 ? summary.published / summary.seconds : 0;
  bar.done(`published ${summary.published} documents to ${topology.topics.ingest} in ${summary.seconds.toFixed(1)} s (${rate.toFixed(0)} docs/s); rejected ${summary.rejected.length}`);
  if (options.json) {
    out.result(JSON.stringify(summary));
  } else {
    for (const r of summary.rejected.slice(0, 20)) out.result(`rejected line ${r.line} [${r.code}]: ${r.reason}`);
    if (summary.rejected.length > 20) out.result(`… and ${summary.rejected.length - 20} more rejected lines`);
  }
  return summary;
}
