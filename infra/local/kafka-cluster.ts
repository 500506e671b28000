import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContractError, UnavailableError } from '../../topology/errors.ts';
import { closeOnce } from '../../topology/index.ts';
import { probeKafka } from '../probes.ts';
import type { KafkaEndpoint, ServiceProcess } from '../services.ts';
import { ensureKafkaClasspath, newClusterId } from './kafka-process.ts';
import { freePort } from './ports.ts';
import { requireJava } from './prerequisites.ts';
import { runCommand } from './run-command.ts';
import { startServiceProcess } from './service-process.ts';

const LOG4J_CONFIG = fileURLToPath(new URL('../kafka/log4j2.yaml', import.meta.url));

export interface KafkaClusterNode {
  nodeId: number;
  /** host:port of its broker listener. */
  broker: string;
  process: ServiceProcess;
}

export interface LocalKafkaCluster {
  endpoint: KafkaEndpoint;
  nodes: KafkaClusterNode[];
  /** The node with this id; throws for an unknown id. */
  node(nodeId: number): KafkaClusterNode;
  /** Stops every node and removes the cluster's data. Idempotent. */
  close(): Promise<void>;
}

export interface KafkaClusterOptions {
  /** Nodes, each a combined broker and KRaft controller voter (1-9; 3 gives a quorum that survives one loss). */
  nodes: number;
  log?: (line: string) => void;
  /**
   * How long the controllers wait for a silent broker before fencing it and moving its partition
   * leaderships: the outage a kill -9 of a leader causes. Kafka's default is 9000.
   */
  brokerSessionTimeoutMs?: number;
  /**
   * How long a node's halt('graceful') waits after SIGTERM (a controlled shutdown, which moves its
   * leaderships first) before it sends SIGKILL. Default 5000.
   */
  stopGraceMs?: number;
}

/**
 * A throwaway KRaft cluster of N local processes on free ports: every node is a broker and a
 * controller voter, so any minority of nodes can die. Topics default to replication factor
 * min(3, N) and min.insync.replicas min(2, N), and so do Kafka's internal topics.
 */
export async function startKafkaCluster(options: KafkaClusterOptions): Promise<LocalKafkaCluster> {
  const count = options.nodes;
  if (!Number.isInteger(count) || count < 1 || count > 9)
    throw new ContractError('invalid-option', `a local Kafka cluster has 1 to 9 nodes, got ${count}`);
  const log = options.log ?? (() => undefined);
  const java = await requireJava(17);
  const libs = await ensureKafkaClasspath(log);
  const home = await mkdtemp(join(tmpdir(), 'searchbus-kafka-cluster-'));
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const ports = await Promise.all(ids.map(async () => ({ broker: await freePort(), controller: await freePort() })));
  const voters = ids.map((id, i) => `${id}@127.0.0.1:${ports[i]!.controller}`).join(',');
  const replication = Math.min(3, count);
  const minIsr = Math.min(2, count);
  const clusterId = newClusterId();
  const jvm = ['-cp', `${libs}/*`, `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`, '-Djava.awt.headless=true'];

  const configs = await Promise.all(
    ids.map(async (id, i) => {
      const dir = join(home, `node-${id}`);
      const logDirs = join(dir, 'data');
      await mkdir(logDirs, { recursive: true });
      const configFile = join(dir, 'server.properties');
      await writeFile(
        configFile,
        nodeConfig({
          id,
          voters,
          port: ports[i]!.broker,
          controllerPort: ports[i]!.controller,
          logDirs,
          replication,
          minIsr,
          sessionTimeoutMs: options.brokerSessionTimeoutMs ?? 9_000,
        }),
      );
      if (!existsSync(join(logDirs, 'meta.properties'))) {
        const format = await runCommand(java, [
          ...jvm,
          'kafka.tools.StorageTool',
          'format',
          `--cluster-id=${clusterId}`,
          '--config',
          configFile,
        ]);
        if (format.code !== 0)
          throw new UnavailableError(
            'kafka-format-failed',
            `Formatting Kafka storage of node ${id} failed:\n${format.output.slice(-2000)}`,
            { retriable: false },
          );
      }
      return { id, dir, configFile, broker: `127.0.0.1:${ports[i]!.broker}` };
    }),
  ).catch(async (error: unknown) => {
    await rm(home, { recursive: true, force: true });
    throw error;
  });

  log(`Starting a ${count}-node Kafka cluster on ${configs.map((c) => c.broker).join(', ')}…`);
  // All at once: a node is ready only when a majority of the controller quorum is up.
  const started = await Promise.allSettled(
    configs.map((c) =>
      startServiceProcess(
        {
          service: 'kafka',
          profile: 'test',
          command: java,
          args: ['-Xms128m', '-Xmx512m', '-XX:+UseG1GC', ...jvm, 'kafka.Kafka', c.configFile],
          logFile: join(c.dir, 'broker.log'),
          endpoint: c.broker,
          // So that a reaper removes it if this run dies; close() removes the whole cluster directory.
          scratchDir: c.dir,
          probe: () => probeKafka({ brokers: [c.broker] }, 1_000),
          readyTimeoutMs: 120_000,
        },
        { label: `kafka node ${c.id}`, graceMs: options.stopGraceMs ?? 5_000 },
      ),
    ),
  );
  const processes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const close = closeOnce(async () => {
    await Promise.allSettled(processes.map((p) => p.close()));
    await rm(home, { recursive: true, force: true });
  });
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }

  const nodes = configs.map((c, i) => ({ nodeId: c.id, broker: c.broker, process: processes[i]! }));
  return {
    endpoint: { brokers: nodes.map((n) => n.broker) },
    nodes,
    node(nodeId) {
      const node = nodes.find((n) => n.nodeId === nodeId);
      if (!node) throw new ContractError('unknown-node', `the cluster has no node ${nodeId}`);
      return node;
    },
    close,
  };
}

function nodeConfig(o: {
  id: number;
  voters: string;
  port: number;
  controllerPort: number;
  logDirs: string;
  replication: number;
  minIsr: number;
  sessionTimeoutMs: number;
}): string {
  return [
    'process.roles=broker,controller',
    `node.id=${o.id}`,
    `controller.quorum.voters=${o.voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${o.logDirs}`,
    'num.partitions=1',
    `default.replication.factor=${o.replication}`,
    `min.insync.replicas=${o.minIsr}`,
    'auto.create.topics.enable=false',
    'unclean.leader.election.enable=false',
    `offsets.topic.replication.factor=${o.replication}`,
    'offsets.topic.num.partitions=3',
    `transaction.state.log.replication.factor=${o.replication}`,
    `transaction.state.log.min.isr=${o.minIsr}`,
    'transaction.state.log.num.partitions=1',
    `share.coordinator.state.topic.replication.factor=${o.replication}`,
    `share.coordinator.state.topic.min.isr=${o.minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    // As the single broker (kafka-process.ts): no 5 ms linger on offset-commit writes.
    'group.coordinator.append.linger.ms=0',
    `broker.session.timeout.ms=${o.sessionTimeoutMs}`,
    `broker.heartbeat.interval.ms=${Math.max(100, Math.min(2_000, Math.floor(o.sessionTimeoutMs / 4)))}`,
    '',
  ].join('\n');
}
