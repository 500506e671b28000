import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, dataDir } from '../cache-dir.ts';
import { UnavailableError } from '../../topology/errors.ts';
import { registryUnreachable } from '../setup-failures.ts';
import { probeKafka } from '../probes.ts';
import type { KafkaEndpoint, Profile, StartedService } from '../services.ts';
import { assertPortFree, freePort, portFromEnv } from './ports.ts';
import { requireJava, requireMaven } from './prerequisites.ts';
import {
  scramFormatArgs,
  secureListener,
  secureListenerProperties,
  SECURE_LISTENER_NAME,
  type KafkaSecureListenerOptions,
} from './kafka-secure-listener.ts';
import { runCommand } from './run-command.ts';
import { startServiceProcess } from './service-process.ts';

const KAFKA_DIR = fileURLToPath(new URL('../kafka/', import.meta.url));
const POM = join(KAFKA_DIR, 'pom.xml');
const LOG4J_CONFIG = join(KAFKA_DIR, 'log4j2.yaml');

/** Resolves the broker's classpath from Maven Central once; the pom's hash keys the cache. */
export async function ensureKafkaClasspath(log: (line: string) => void = () => undefined): Promise<string> {
  const pom = await readFile(POM);
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const libs = cacheDir('kafka', key, 'libs');
  if (existsSync(join(libs, '.complete'))) return libs;

  const mvn = await requireMaven();
  log('Resolving the Apache Kafka broker from Maven Central (once, ~45 MB)…');
  await mkdir(cacheDir('kafka', key), { recursive: true });
  const staging = await mkdtemp(join(cacheDir('kafka', key), 'staging-'));
  const result = await runCommand(mvn, [
    '-B',
    '-q',
    '-f',
    POM,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${staging}`,
  ]);
  if (result.code !== 0) {
    await rm(staging, { recursive: true, force: true });
    throw registryUnreachable('Maven Central', 'the Apache Kafka broker jars', result.output);
  }
  await writeFile(join(staging, '.complete'), new Date().toISOString());
  await rm(libs, { recursive: true, force: true });
  await rename(staging, libs);
  return libs;
}

export async function startKafka(options: {
  profile: Profile;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Tests only: a second listener with SASL over TLS; its address is returned as `secureBrokers`. */
  secure?: KafkaSecureListenerOptions;
}): Promise<StartedService<KafkaEndpoint> & { secureBrokers?: string[] }> {
  const { profile, env, log, secure } = options;
  const java = await requireJava(17);
  const libs = await ensureKafkaClasspath(log);

  let port: number;
  let controllerPort: number;
  if (profile === 'up') {
    port = portFromEnv(env, 'SEARCHBUS_KAFKA_PORT', 9092);
    controllerPort = portFromEnv(env, 'SEARCHBUS_KAFKA_CONTROLLER_PORT', port + 1);
    await assertPortFree(port, 'Kafka', 'SEARCHBUS_KAFKA_PORT');
    await assertPortFree(controllerPort, 'the Kafka controller', 'SEARCHBUS_KAFKA_CONTROLLER_PORT');
  } else {
    port = await freePort();
    controllerPort = await freePort();
  }
  const securePort = secure ? await freePort() : undefined;
  const extraListener = securePort === undefined ? '' : `,${secureListener(securePort)}`;

  const scratch = profile === 'test' ? await mkdtemp(join(tmpdir(), 'searchbus-kafka-')) : null;
  const home = scratch ?? dataDir('kafka');
  const logDirs = join(home, 'data');
  await mkdir(logDirs, { recursive: true });
  const configFile = join(home, 'server.properties');
  // A single-node broker: internal topics need replication factor 1, and tests want fast group joins.
  const internalPartitions = profile === 'test' ? 1 : 12;
  await writeFile(
    configFile,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${extraListener}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${extraListener}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${secure ? `,${SECURE_LISTENER_NAME}:SASL_SSL` : ''}`,
      ...(secure ? secureListenerProperties(secure) : []),
      `log.dirs=${logDirs}`,
      'num.partitions=1',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      `offsets.topic.num.partitions=${internalPartitions}`,
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      `transaction.state.log.num.partitions=${internalPartitions}`,
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      // Kafka 4's group coordinator holds each offset-commit write up to 5 ms to batch it
      // (group.coordinator.append.linger.ms): every commit a consumer awaits (the encoder's, after
      // each batch) waited that long. Measured with test/bench/kafkajs-hops.ts (README, Measured).
      'group.coordinator.append.linger.ms=0',
      '',
    ].join('\n'),
  );

  const classpath = `${libs}/*`;
  const jvm = ['-cp', classpath, `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`, '-Djava.awt.headless=true'];
  if (!existsSync(join(logDirs, 'meta.properties'))) {
    const format = await runCommand(java, [
      ...jvm,
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${newClusterId()}`,
      '--config',
      configFile,
      ...(secure ? scramFormatArgs(secure) : []),
    ]);
    if (format.code !== 0) {
      throw new UnavailableError('kafka-format-failed', `Formatting Kafka storage in ${logDirs} failed:\n${format.output.slice(-2000)}`, {
        retriable: false,
      });
    }
  }

  const brokers = [`127.0.0.1:${port}`];
  log(`Starting Kafka on 127.0.0.1:${port}…`);
  const heap = profile === 'test' ? ['-Xms256m', '-Xmx768m'] : ['-Xms512m', '-Xmx1g'];
  const node = await startServiceProcess(
    {
      service: 'kafka',
      profile,
      command: java,
      args: [...heap, '-XX:+UseG1GC', ...jvm, 'kafka.Kafka', configFile],
      logFile: join(home, 'broker.log'),
      endpoint: brokers.join(','),
      scratchDir: scratch,
      probe: () => probeKafka({ brokers }, 1_000),
      readyTimeoutMs: 90_000,
    },
    { graceMs: profile === 'test' ? 5_000 : 30_000 },
  );
  return {
    endpoint: { brokers },
    ...(securePort !== undefined && { secureBrokers: [`127.0.0.1:${securePort}`] }),
    close: () => node.close(),
    process: node,
  };
}

/**
 * A Kafka cluster id: 16 random bytes in URL-safe base64, never starting with "-" (Kafka's own
 * Uuid.randomUuid rule), which a command line would read as an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
