// The command table. Each command's module loads only when that command runs: `searchbus search`
// must not pay at start-up for onnxruntime, BullMQ, the gateway or the Qdrant client (README,
// "Cold start").
import type { Command } from '../command.ts';
import { ContractError } from '../../../topology/errors.ts';
import { command as help } from './help.ts';

type LoadCommand = () => Promise<Command>;

const COMMANDS: Readonly<Record<string, LoadCommand>> = {
  up: async () => (await import('./up.ts')).command,
  run: async () => (await import('./run.ts')).command,
  ingest: async () => (await import('./ingest.ts')).command,
  search: async () => (await import('./search.ts')).command,
  watch: async () => (await import('./watch.ts')).command,
  gateway: async () => (await import('./gateway.ts')).command,
  eval: async () => (await import('./eval.ts')).command,
  reindex: async () => (await import('./reindex.ts')).command,
  'eval-set': async () => (await import('./eval-set.ts')).command,
  status: async () => (await import('./status.ts')).command,
  'migrate-keys': async () => (await import('./migrate-keys.ts')).command,
  topology: async () => (await import('./topology.ts')).command,
  setup: async () => (await import('./setup.ts')).command,
  infra: async () => (await import('./infra.ts')).command,
  help: () => Promise.resolve(help),
  '--help': () => Promise.resolve(help),
  '-h': () => Promise.resolve(help),
};

/** The command `searchbus <name>` runs; no name at all is help. */
export async function findCommand(name: string | undefined): Promise<Command> {
  if (name === undefined) return help;
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) throw new ContractError('usage', `unknown command "${name}"`);
  return load();
}
