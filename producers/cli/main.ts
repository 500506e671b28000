// The CLI entry point: the only module that reads argv, handles signals and sets the exit code.
import { parseArgs } from 'node:util';
import { consoleOutput as out } from './output.ts';
import { UsageError } from './usage-error.ts';
import { infraDownCommand, infraRunCommand, infraStatusCommand, infraUpCommand, setupCommand } from './infra-commands.ts';

const USAGE = `searchbus — neural search on an event stream

Usage:
  searchbus setup                      install Kafka jars, redis-server and the Qdrant Edge engine (idempotent)
  searchbus infra up [--profile up|test]  start Kafka, Redis and Qdrant (or use KAFKA_BROKERS/REDIS_URL/QDRANT_URL)
  searchbus infra down                 stop every service process searchbus started
  searchbus infra status [--json]      list the service processes searchbus started
  searchbus infra run -- <cmd…>        run a command against throwaway services (endpoints in its environment)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'setup':
      await setupCommand(out);
      return 0;
    case 'infra':
      return infra(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.result(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function infra(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'run') {
    const separator = rest.indexOf('--');
    return infraRunCommand(out, separator >= 0 ? rest.slice(separator + 1) : rest);
  }
  const { values } = parseArgs({
    args: rest,
    options: { profile: { type: 'string', default: 'up' }, json: { type: 'boolean', default: false } },
  });
  switch (sub) {
    case 'up': {
      const profile = values.profile;
      if (profile !== 'up' && profile !== 'test') throw new UsageError('--profile must be "up" or "test"');
      await infraUpCommand(out, profile);
      return 0;
    }
    case 'down':
      await infraDownCommand(out);
      return 0;
    case 'status':
      await infraStatusCommand(out, values.json);
      return 0;
    default:
      throw new UsageError(`unknown infra command "${sub ?? ''}"`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    out.error(error.message);
    out.info(USAGE);
    process.exitCode = 2;
  } else {
    out.error(error instanceof Error ? error.message : String(error));
    if (process.env.SEARCHBUS_DEBUG && error instanceof Error) out.info(error.stack ?? '');
    process.exitCode = 1;
  }
}
