import { parseArgs } from 'node:util';
import { createKafka, getServices } from '../../index.ts';
import { createQdrant } from '../../../topology/connections/qdrant-client.ts';
import {
  ContractError,
  applyTopology,
  collectionLayout,
  collectionParams,
  createTopology,
  layoutFor,
  loadConfig,
  searchParams,
  topicSpecs,
  PAYLOAD_INDEXES,
} from '../../../topology/index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';

export async function topologyApplyCommand(out: Output, options: { dryRun: boolean }): Promise<void> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const services = await getServices({ profile: 'up', need: ['kafka', 'qdrant'], start: false, log: (l) => out.info(l) });
  const admin = createKafka(services.kafka, 'searchbus-topology').admin();
  try {
    await admin.connect();
    const report = await applyTopology({ admin, qdrant: createQdrant(services.qdrant), topology, config, dryRun: options.dryRun });
    const verb = options.dryRun ? 'would' : 'did';
    if (report.actions.length === 0) out.result('Topology is up to date.');
    for (const action of report.actions) out.result(`${verb}: ${action}`);
    for (const drift of report.drift) out.result(`drift: ${drift}`);
  } finally {
    await admin.disconnect();
    await services.close();
  }
}

/** The names and settings searchbus uses, as one JSON document (no service needed). */
export function topologyDescribeCommand(out: Output): void {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  out.result(
    JSON.stringify(
      {
        namespace: topology.namespace,
        topics: topicSpecs(topology, config),
        groups: {
          encoder: topology.groups.encoder,
          mediaEncoder: topology.groups.mediaEncoder,
          query: topology.groups.query,
          reindex: topology.groups.reindex('<collection>'),
        },
        redis: { keyPrefix: topology.redis.keyPrefix, replyChannel: topology.redis.replyChannel('<client-id>') },
        queues: topology.queues,
        qdrant: {
          alias: topology.qdrant.alias,
          collection: topology.qdrant.collection(config.model.id, 1),
          vectors: collectionParams(config.model, layoutFor(config.sparseAnalyzer)),
          vectorsOnDisk: config.qdrant.vectorsOnDisk,
          layout: collectionLayout(config.qdrant),
          searchParams: searchParams(config.qdrant) ?? null,
          payloadIndexes: PAYLOAD_INDEXES,
        },
        model: { id: config.model.id, dimension: config.model.dimension, maxTokens: config.model.maxTokens, pooling: config.model.pooling },
      },
      null,
      2,
    ),
  );
}

type TopologyArgs = { sub: 'apply'; dryRun: boolean } | { sub: 'describe' };

export const command = defineCommand({
  name: 'topology',
  parse(argv): TopologyArgs {
    const [sub, ...rest] = argv;
    const { values } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean', default: false } } });
    switch (sub) {
      case 'apply':
        return { sub, dryRun: values['dry-run'] };
      case 'describe':
        return { sub };
      default:
        throw new ContractError('usage', `unknown topology command "${sub ?? ''}"`);
    }
  },
  async run(args, { out }) {
    if (args.sub === 'apply') await topologyApplyCommand(out, { dryRun: args.dryRun });
    else topologyDescribeCommand(out);
    return 0;
  },
});
