import { closeOnce } from '../topology/index.ts';
import type { KafkaEndpoint, QdrantEndpoint, RedisEndpoint, StartedService } from './services.ts';
import { importOptional } from './optional-dependency.ts';
import { freePort } from './local/index.ts';

// Pinned images; the same versions the local provider runs (Kafka) or serves the API of (Qdrant).
const IMAGES = {
  kafka: 'apache/kafka:4.1.1',
  qdrant: 'qdrant/qdrant:v1.16.3',
  redis: 'redis:7.2.12-alpine',
} as const;

// Loaded on first use: testcontainers is a dev dependency, absent from an installed package.
const loadTestcontainers = () =>
  importOptional('testcontainers', 'Starting services in containers (SEARCHBUS_PROVIDER=testcontainers)', () => import('testcontainers'));

/** True when testcontainers is installed and a Docker-compatible runtime answers. */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await loadTestcontainers();
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startKafkaContainer(): Promise<StartedService<KafkaEndpoint>> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await loadTestcontainers();
  const runtime = await getContainerRuntimeClient();
  const host = runtime.info.containerRuntime.host;
  // The advertised listener must name the host port before the broker starts, so it is fixed here.
  const hostPort = await freePort();
  const container = await new GenericContainer(IMAGES.kafka)
    .withExposedPorts({ container: 9092, host: hostPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:19092',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${hostPort},INTERNAL://localhost:19092`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_GROUP_COORDINATOR_APPEND_LINGER_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return { endpoint: { brokers: [`${host}:${hostPort}`] }, close: closeOnce(async () => void (await container.stop())) };
}

export async function startRedisContainer(): Promise<StartedService<RedisEndpoint>> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  const container = await new GenericContainer(IMAGES.redis)
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  return { endpoint: { url }, close: closeOnce(async () => void (await container.stop())) };
}

export async function startQdrantContainer(): Promise<StartedService<QdrantEndpoint>> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  const container = await new GenericContainer(IMAGES.qdrant)
    .withExposedPorts(6333)
    .withWaitStrategy(Wait.forHttp('/readyz', 6333).forStatusCode(200))
    .start();
  const url = `http://${container.getHost()}:${container.getMappedPort(6333)}`;
  return { endpoint: { url }, close: closeOnce(async () => void (await container.stop())) };
}
