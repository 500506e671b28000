// What the live-path benchmarks (read-your-writes, watch-matching) share: a namespace of their own,
// the services, its topics and collection, the model, and the encoder role as `searchbus run
// encoder` runs it (a text and a media group), started; `closers` stops all of it and removes the
// namespace, after whatever the benchmark itself closes first.
import { randomUUID } from 'node:crypto';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder } from '../../consumers/embedding/index.ts';
import { MetricsRegistry, RedisWriteFences } from '../../consumers/runtime/index.ts';
import { createKafka, createRedis, getServices } from '../../infra/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { createQdrant } from '../../topology/connections/qdrant-client.ts';
import { applyTopology, createTopology, loadConfig, topicSpecs } from '../../topology/index.ts';

export async function startEncoderStack(name: string, log: (line: string) => void) {
  const namespace = `bench-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({ ...process.env, SEARCHBUS_NAMESPACE: namespace });
  const topology = createTopology(namespace);
  const services = await getServices({ log });
  const kafka = createKafka(services.kafka, `bench-${name}`);
  const qdrant = createQdrant(services.qdrant);
  const admin = kafka.admin();
  await admin.connect();
  await applyTopology({ admin, qdrant, topology, config });
  const model = await loadEncoder(config.model, { intraOpThreads: config.encoder.intraOpThreads });
  const redis = createRedis(services.redis, `bench-${name}-fences`);
  const metrics = new MetricsRegistry();
  const encoders = (['text', 'media'] as const).map(
    (modality) =>
      new EncoderConsumer({
        kafka,
        qdrant,
        topology,
        config,
        encoder: () => Promise.resolve(documentEncoder(model)),
        modality,
        fences: new RedisWriteFences(redis, topology),
        metrics,
      }),
  );
  for (const e of encoders) await e.start();
  const closers = [
    ...encoders.map((e, i) => ({ name: `close encoder ${i}`, run: () => e.close() })),
    { name: 'quit the fences Redis', run: async () => void (await redis.quit()) },
    { name: 'close the model', run: () => model.close() },
    {
      name: 'remove the namespace',
      run: async () => {
        await admin.deleteTopics({ topics: topicSpecs(topology, config).map((t) => t.topic) }).catch(() => undefined);
        const { collections } = await qdrant.getCollections();
        const ours = (c: { name: string }): boolean =>
          c.name.startsWith(topology.qdrant.alias) || c.name.startsWith(topology.qdrant.watchCollection(''));
        for (const c of collections.filter(ours)) await qdrant.deleteCollection(c.name);
        await admin.disconnect();
      },
    },
    { name: 'stop the services', run: () => services.close() },
  ];
  return { namespace, config, topology, services, kafka, qdrant, admin, model, metrics, encoders, closers };
}
