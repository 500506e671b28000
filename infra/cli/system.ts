import { startHealthServer } from '../../consumers/runtime/index.ts';
import { createKafka, getServices, type Profile, type Services } from '../index.ts';
import { createQdrant } from '../../topology/connections/qdrant-client.ts';
import {
  applyTopology,
  closeAll,
  closeOnce,
  createTopology,
  loadConfig,
  type SearchbusConfig,
  type Topology,
} from '../../topology/index.ts';
import type { Output } from './output.ts';
import { createRoleContext, startRole, type RoleName, type RunningRole } from './roles.ts';
import { startTelemetry } from './telemetry.ts';

export interface RunningSystem {
  services: Services;
  config: SearchbusConfig;
  topology: Topology;
  healthPort: number;
  /**
   * Closes the roles in reverse start order, then the health server, models and the services this
   * run started; every step runs even when one throws. Idempotent.
   */
  close(): Promise<void>;
}

export async function startSystem(
  out: Output,
  options: { roles: readonly RoleName[]; profile: Profile; startServices: boolean; applyTopology: boolean },
): Promise<RunningSystem> {
  const config = loadConfig();
  const topology = createTopology(config.namespace);
  const log = (line: string): void => out.info(line);
  // Before the services: a failure here leaves nothing running.
  const telemetry = await startTelemetry(config, `searchbus-${options.roles.join('-')}`);
  if (telemetry) log(`tracing: exporting spans over OTLP to ${config.otlpEndpoint}`);
  const services = await getServices({ profile: options.profile, start: options.startServices, log });
  const context = createRoleContext(services, config, topology, log);
  const roles: RunningRole[] = [];
  let health: { port: number; close(): Promise<void> } | undefined;
  // Every step runs even when one throws; the failures are reported together (CleanupError).
  const close = closeOnce(() =>
    closeAll('searchbus', [
      ...[...roles].reverse().map((role) => ({ name: `close the ${role.name} role`, run: () => role.close() })),
      health && { name: 'close the health server', run: () => health?.close() },
      { name: 'close the models', run: () => context.close() },
      { name: 'stop the services this run started', run: () => services.close() },
      telemetry && { name: 'flush the traces', run: () => telemetry.close() },
    ]),
  );
  try {
    if (options.applyTopology) {
      const admin = createKafka(services.kafka, 'searchbus-topology').admin();
      await admin.connect();
      try {
        const report = await applyTopology({ admin, qdrant: createQdrant(services.qdrant), topology, config });
        for (const action of report.actions) log(`topology: ${action}`);
        for (const drift of report.drift) log(`topology drift: ${drift}`);
      } finally {
        await admin.disconnect();
      }
    }
    for (const name of options.roles) {
      log(`Starting ${name}…`);
      roles.push(await startRole(name, context));
    }
    health = await startHealthServer({
      port: config.metricsPort ?? 0,
      host: config.metricsHost,
      metrics: context.metrics,
      health: { live: () => true, ready: () => roles.length === options.roles.length && roles.every((r) => r.ready()) },
    });
  } catch (error) {
    await close().catch((cleanup: unknown) => out.info(`cleaning up after the failed start also failed: ${(cleanup as Error).message}`));
    throw error;
  }
  return { services, config, topology, healthPort: health.port, close };
}
