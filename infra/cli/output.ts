/** Results go to stdout (pipeable); progress and diagnostics to stderr. */
export interface Output {
  result(line: string): void;
  info(line: string): void;
  error(line: string): void;
}

export const consoleOutput: Output = {
  result: (line) => process.stdout.write(`${line}\n`),
  info: (line) => process.stderr.write(`${line}\n`),
  error: (line) => process.stderr.write(`error: ${line}\n`),
};
