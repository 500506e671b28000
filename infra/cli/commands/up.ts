import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createKafka } from '../../index.ts';
import { createQdrant } from '../../../topology/connections/qdrant-client.ts';
import { DEFAULT_TENANT } from '../../../topology/index.ts';
import { IngestProducer, openDocumentSource, type DocumentInput } from '../../../producers/ingest/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { ROLE_NAMES } from '../roles.ts';
import { startSystem, type RunningSystem } from '../system.ts';

export const SAMPLE_CORPUS = fileURLToPath(new URL('../../demo/sample-corpus.jsonl', import.meta.url));
const SEARCHABLE_TIMEOUT_MS = 10 * 60_000;

/**
 * Everything on one machine: services (local ones unless endpoints are set), topology, every role,
 * and the sample corpus, returned once the corpus is searchable.
 */
export async function upCommand(out: Output, options: { sample: boolean }): Promise<RunningSystem> {
  const started = performance.now();
  const system = await startSystem(out, { roles: ROLE_NAMES, profile: 'up', startServices: true, applyTopology: true });
  try {
    if (options.sample) await ingestSample(out, system);
  } catch (error) {
    await system.close().catch((cleanup: unknown) => out.info(`stopping after the failure also failed: ${(cleanup as Error).message}`));
    throw error;
  }
  const env = [
    `KAFKA_BROKERS=${system.services.kafka.brokers.join(',')}`,
    `REDIS_URL=${system.services.redis.url}`,
    `QDRANT_URL=${system.services.qdrant.url}`,
  ];
  out.info(`searchbus is up in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  out.info(`  services:  ${env.join('  ')}`);
  out.info(`  health:    http://127.0.0.1:${system.healthPort}/readyz  metrics: http://127.0.0.1:${system.healthPort}/metrics`);
  out.info(`  try:       npx searchbus search "how do stars die"`);
  out.info('Press Ctrl-C to stop.');
  return system;
}

async function ingestSample(out: Output, system: RunningSystem): Promise<void> {
  const source = openDocumentSource(SAMPLE_CORPUS);
  const documents: DocumentInput[] = [];
  for await (const record of source.records()) {
    if ('document' in record) documents.push(record.document);
    else out.info(`sample corpus line ${record.line} rejected: ${record.error.message}`);
  }
  const producer = new IngestProducer({
    kafka: createKafka(system.services.kafka, 'searchbus-up'),
    topic: system.topology.topics.ingest,
    startTimeoutMs: system.config.startTimeoutMs,
  });
  try {
    await producer.upsert(documents);
  } finally {
    await producer.close();
  }
  out.info(`Published ${documents.length} sample documents; waiting until they are searchable…`);
  const qdrant = createQdrant(system.services.qdrant);
  const ids = documents.map((d) => d.id);
  const deadline = Date.now() + SEARCHABLE_TIMEOUT_MS;
  for (;;) {
    const { count } = await qdrant.count(system.topology.qdrant.alias, {
      exact: true,
      filter: {
        must: [
          { key: 'chunk', match: { value: 0 } },
          { key: 'tenant', match: { value: DEFAULT_TENANT } },
          { key: 'doc_id', match: { any: ids } },
        ],
      },
    });
    if (count >= ids.length) return;
    if (Date.now() > deadline)
      throw new Error(`only ${count} of ${ids.length} sample documents became searchable in ${SEARCHABLE_TIMEOUT_MS / 1000} s`);
    await delay(250);
  }
}

export const command = defineCommand({
  name: 'up',
  parse(argv): { sample: boolean } {
    const { values } = parseArgs({ args: argv, options: { 'no-sample': { type: 'boolean', default: false } } });
    return { sample: !values['no-sample'] };
  },
  async run(options, { out, untilSignal }) {
    const system = await upCommand(out, options);
    await untilSignal();
    out.info('Stopping…');
    await system.close();
    return 0;
  },
});
