import type { ChildProcess } from 'node:child_process';
import type { Harness } from './harness.ts';
import { startRoleProcess } from './role-process.ts';

export interface GatewayProcess {
  child: ChildProcess;
  port: number;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  url(path: string): string;
  /** SIGTERM (as a deploy stops the process), then waits for the exit; returns the exit code. Idempotent. */
  close(): Promise<number | null>;
}

/**
 * `searchbus run gateway` as a real process (port 0 unless `env` says otherwise); resolves once it
 * announced its port, rejects with its stderr if it exits first.
 */
export function startGatewayProcess(h: Harness, env: Record<string, string>): Promise<GatewayProcess> {
  const child = startRoleProcess(h, 'gateway', { SEARCHBUS_GATEWAY_PORT: '0', ...env });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /gateway: http:\/\/[^:]+:(\d+)\//.exec(output);
      if (match) {
        const port = Number(match[1]);
        resolve({
          child,
          port,
          stderr: () => output,
          url: (path) => `http://127.0.0.1:${port}${path}`,
          close: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`the gateway exited with ${code} before listening:\n${output}`)));
  });
}

/** Runs `searchbus run gateway` expecting it to fail at start-up; returns its exit code and stderr. */
export async function gatewayStartupFailure(h: Harness, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = startRoleProcess(h, 'gateway', { SEARCHBUS_GATEWAY_PORT: '0', ...env });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    // It started after all: stop it, so the caller sees the failure it did not expect.
    if (/gateway: http:/.test(output)) child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stderr: output };
}
