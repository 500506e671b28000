import type { Output } from './output.ts';

/** What main hands every command. Waiting for Ctrl-C goes through main: only it may exit the process. */
export interface CommandContext {
  readonly out: Output;
  /** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
  readonly untilSignal: () => Promise<void>;
}

export interface CommandSpec<Options> {
  /** As typed after `searchbus`. */
  readonly name: string;
  /** The arguments after the command name. A wrong command line throws ContractError `usage` (exit 2, usage printed). */
  parse(argv: string[]): Options;
  /** Resolves to the exit code. */
  run(options: Options, context: CommandContext): Promise<number>;
}

/** A command as the table holds it: parse and run joined, so commands with different options fit one table. */
export interface Command {
  readonly name: string;
  execute(argv: string[], context: CommandContext): Promise<number>;
}

export function defineCommand<Options>(spec: CommandSpec<Options>): Command & CommandSpec<Options> {
  return { ...spec, execute: async (argv, context) => spec.run(spec.parse(argv), context) };
}
