import { parseArgs } from 'node:util';
import { createKafka, getServices } from '../../index.ts';
import { createTopology, loadConfig } from '../../../topology/index.ts';
import { migrateKeys, type KeyMigrationResult } from '../../../producers/ingest/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';

/** `searchbus migrate-keys`: re-keys bare-id documents of the ingest topic to `<tenant>/<id>` (see key-migration.ts). */
export async function migrateKeysCommand(out: Output, options: { dryRun: boolean; json: boolean }): Promise<KeyMigrationResult> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const services = await getServices({ profile: 'up', need: ['kafka'], start: false, log: (l) => out.info(l) });
  const kafka = createKafka(services.kafka, 'searchbus-migrate-keys');
  const admin = kafka.admin();
  try {
    await admin.connect();
    out.info(`Reading ${topology.topics.ingest} from the earliest offset…`);
    const result = await migrateKeys({ kafka, admin, topic: topology.topics.ingest, dryRun: options.dryRun });
    if (options.json) {
      out.result(JSON.stringify(result));
    } else {
      const verb = options.dryRun ? 'would publish' : 'published';
      out.result(
        `${result.keys} keys: ${result.current} already <tenant>/<id>, ${result.tombstones} tombstones, ${result.invalid.length} not valid documents (left alone)`,
      );
      out.result(
        `${verb} ${result.republished} documents under <tenant>/<id> and ${result.retire.length} tombstones for their bare-id keys`,
      );
      if (result.superseded.length > 0)
        out.result(`${result.superseded.length} bare-id documents already had a newer record under their new key: not published again`);
      out.result(options.dryRun ? 'Nothing was published (--dry-run).' : 'Next: searchbus reindex --model <id> --watch');
    }
    return result;
  } finally {
    await admin.disconnect();
    await services.close();
  }
}

export const command = defineCommand({
  name: 'migrate-keys',
  parse(argv): { dryRun: boolean; json: boolean } {
    const { values } = parseArgs({
      args: argv,
      options: { 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    });
    return { dryRun: values['dry-run'], json: values.json };
  },
  async run(options, { out }) {
    await migrateKeysCommand(out, options);
    return 0;
  },
});
