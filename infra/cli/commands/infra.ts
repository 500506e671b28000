import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import {
  endpointEnv,
  getServices,
  isAlive,
  listEntries,
  reapOrphans,
  SECRET_SETTINGS,
  stopProcess,
  type Profile,
  type Services,
} from '../../index.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { ContractError } from '../../../topology/errors.ts';

/** The variables that reach these services, secrets included: for child processes, never for printing. */
export function servicesEnv(services: Services): Record<string, string> {
  return endpointEnv({ kafka: services.kafka, redis: services.redis, qdrant: services.qdrant });
}

export async function infraUpCommand(out: Output, profile: Profile): Promise<void> {
  const started = Date.now();
  const services = await getServices({ profile, log: (l) => out.info(l) });
  const env = servicesEnv(services);
  out.info(`Services are up (${Date.now() - started} ms):`);
  for (const [key, value] of Object.entries(env)) out.result(`${key}=${SECRET_SETTINGS.has(key) ? '***' : value}`);
}

export async function infraDownCommand(out: Output): Promise<void> {
  const entries = await listEntries();
  await Promise.all(entries.map((e) => stopProcess(e, e.profile === 'up' ? 30_000 : 5_000)));
  out.info(entries.length === 0 ? 'Nothing was running.' : `Stopped ${entries.map((e) => `${e.service} (pid ${e.pid})`).join(', ')}.`);
}

export async function infraStatusCommand(out: Output, json: boolean): Promise<void> {
  await reapOrphans((l) => out.info(l));
  const rows = (await listEntries()).map((e) => ({
    service: e.service,
    profile: e.profile,
    pid: e.pid,
    alive: isAlive(e.pid, e.startTicks),
    endpoint: e.endpoint,
    owner: e.ownerPid ?? 'detached',
    since: e.startedAt,
    log: e.logFile,
  }));
  if (json) {
    out.result(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    out.result('No searchbus service processes are running.');
    return;
  }
  for (const r of rows) {
    out.result(
      `${r.service.padEnd(7)} ${r.profile.padEnd(5)} pid ${String(r.pid).padEnd(8)} ${r.alive ? 'running' : 'dead   '} ${r.endpoint}  owner ${r.owner}  log ${r.log}`,
    );
  }
}

/** Runs a command against throwaway services given to it in KAFKA_BROKERS, REDIS_URL and QDRANT_URL. */
export async function infraRunCommand(out: Output, argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command) throw new ContractError('usage', 'infra run needs a command after --');
  const services = await getServices({ profile: 'test', log: (l) => out.info(l) });
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...servicesEnv(services) } });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    await services.close();
  }
}

type InfraArgs = { sub: 'run'; argv: string[] } | { sub: 'up'; profile: Profile } | { sub: 'down' } | { sub: 'status'; json: boolean };

export const command = defineCommand({
  name: 'infra',
  parse(argv): InfraArgs {
    const [sub, ...rest] = argv;
    if (sub === 'run') {
      const separator = rest.indexOf('--');
      return { sub, argv: separator >= 0 ? rest.slice(separator + 1) : rest };
    }
    const { values } = parseArgs({
      args: rest,
      options: { profile: { type: 'string', default: 'up' }, json: { type: 'boolean', default: false } },
    });
    switch (sub) {
      case 'up': {
        const profile = values.profile;
        if (profile !== 'up' && profile !== 'test') throw new ContractError('usage', '--profile must be "up" or "test"');
        return { sub, profile };
      }
      case 'down':
        return { sub };
      case 'status':
        return { sub, json: values.json };
      default:
        throw new ContractError('usage', `unknown infra command "${sub ?? ''}"`);
    }
  },
  async run(args, { out }) {
    switch (args.sub) {
      case 'run':
        return infraRunCommand(out, args.argv);
      case 'up':
        await infraUpCommand(out, args.profile);
        return 0;
      case 'down':
        await infraDownCommand(out);
        return 0;
      case 'status':
        await infraStatusCommand(out, args.json);
        return 0;
    }
  },
});
