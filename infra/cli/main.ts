// The CLI entry point: the only module that reads argv, handles signals and sets the exit code.
import { consoleOutput as out } from './output.ts';
import { hasErrorCode } from '../../topology/errors.ts';
import { findCommand } from './commands/index.ts';
import { USAGE } from './commands/help.ts';
import { filterKafkajsNegativeTimeoutWarnings } from '../node-warnings.ts';

// kafkajs' harmless negative timer delay warns on Node 24+ at every connection (infra/node-warnings.ts).
filterKafkajsNegativeTimeoutWarnings();

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = await findCommand(name);
  return command.execute(rest, { out, untilSignal });
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = (): never => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      out.info(`${signal}: shutting down (send again to exit at once)`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** The message, then what caused it: the root cause is often the one that says what to fix. */
function withCauses(error: Error): string {
  const lines = [error.message];
  let cause = error.cause;
  for (let depth = 0; cause instanceof Error && cause !== error && depth < 8; depth += 1) {
    if (!error.message.includes(cause.message)) lines.push(`  caused by ${cause.name}: ${cause.message}`);
    cause = cause.cause;
  }
  return lines.join('\n');
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A wrong command line (ContractError `usage`): the message, the usage, exit 2.
  if (hasErrorCode(error, 'usage')) {
    out.error(error.message);
    out.info(USAGE);
    process.exitCode = 2;
  } else {
    out.error(error instanceof Error ? withCauses(error) : String(error));
    // Every stack of the chain, and of each failed cleanup step.
    if (process.env.SEARCHBUS_DEBUG && error instanceof Error) {
      const { serialiseError } = await import('../../consumers/runtime/index.ts');
      out.info(JSON.stringify(serialiseError(error), null, 2));
    }
    process.exitCode = 1;
  }
}
