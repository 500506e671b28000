import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { startKafkaCluster, type LocalKafkaCluster } from '../../infra/index.ts';
import { createHarness, waitFor, type Harness } from './harness.ts';
import { startQueryStack, type QueryStack } from './query-stack.ts';

// What the Kafka cluster fault cases run on: a 3-node KRaft cluster (each node a broker and a
// controller voter), topics with replication factor 3 and min.insync.replicas 2, a live encoder and
// a query stack with its own model instance, as in a separate query process (searches do not queue
// behind document batches).

export interface ClusterFaultStack {
  cluster: LocalKafkaCluster;
  h: Harness;
  /** The encoder consumer's model; also what expected chunk counts are computed with. */
  encoder: OnnxEncoder;
  consumer: EncoderConsumer;
  stack: QueryStack;
  /** Partitions, with leader and in-sync replicas, of one topic. */
  partitions: (topic: string) => Promise<Array<{ partitionId: number; leader: number; replicas: number[]; isr: number[] }>>;
  /** Waits until `nodeId` is in the in-sync replicas of every partition of `topics` (default: every topic, Kafka's own included). */
  waitInSync: (nodeId: number, topics?: string[]) => Promise<void>;
  close(): Promise<void>;
}

export async function startClusterFaultStack(
  options: { cluster?: Partial<Parameters<typeof startKafkaCluster>[0]>; env?: Record<string, string> } = {},
): Promise<ClusterFaultStack> {
  // Controllers fence a silent broker after 3 s (Kafka's default is 9 s), so failovers stay short.
  const cluster = await startKafkaCluster({ nodes: 3, brokerSessionTimeoutMs: 3_000, ...options.cluster });
  const opened: Array<() => Promise<unknown>> = [() => cluster.close()];
  const close = async (): Promise<void> => {
    for (const step of opened.reverse()) await step().catch(() => undefined);
  };
  try {
    const h = await createHarness({
      own: { kafka: cluster.endpoint },
      env: {
        SEARCHBUS_TOPIC_REPLICATION_FACTOR: '3',
        SEARCHBUS_TOPIC_MIN_INSYNC_REPLICAS: '2',
        SEARCHBUS_MAX_RETRY_DELAY_MS: '1000',
        SEARCHBUS_ENCODER_MAX_BATCH_SIZE: '16',
        ...options.env,
      },
    });
    opened.push(() => h.close());
    const encoder = await loadEncoder(h.config.model);
    opened.push(() => encoder.close());
    const consumer = new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(encoder)),
    });
    opened.push(() => consumer.close());
    await consumer.start();
    const queryEncoder = await loadEncoder(h.config.model);
    opened.push(() => queryEncoder.close());
    const stack = await startQueryStack(h, [queryEncoder]);
    opened.push(() => stack.close());

    const partitions: ClusterFaultStack['partitions'] = async (topic) => {
      const metadata = await h.admin.fetchTopicMetadata({ topics: [topic] });
      return metadata.topics[0]?.partitions ?? [];
    };
    const waitInSync: ClusterFaultStack['waitInSync'] = async (nodeId, topics) => {
      await waitFor(
        `node ${nodeId} in sync again`,
        async () => {
          const metadata = await h.admin.fetchTopicMetadata(topics ? { topics } : undefined);
          const behind = metadata.topics.flatMap((t) => t.partitions).filter((p) => !p.isr.includes(nodeId));
          return behind.length === 0 ? true : undefined;
        },
        180_000,
        250,
      );
    };
    return { cluster, h, encoder, consumer, stack, partitions, waitInSync, close };
  } catch (error) {
    await close();
    throw error;
  }
}
