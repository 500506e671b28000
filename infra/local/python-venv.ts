import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cacheDir } from '../cache-dir.ts';
import { UnavailableError } from '../../topology/errors.ts';
import { registryUnreachable } from '../setup-failures.ts';
import { requirePython } from './prerequisites.ts';
import { runCommand } from './run-command.ts';

// Concurrent callers in one process share a single install.
const inFlight = new Map<string, Promise<string>>();

/**
 * A venv under the cache with the pinned packages of one requirements file, keyed by the file's
 * hash so that a pin change builds a new venv. A venv cannot be moved after creation, so
 * completeness is marked by a file written last instead of a rename. Returns its python.
 */
export function ensurePythonVenv(name: string, requirementsPath: string, log: (line: string) => void = () => undefined): Promise<string> {
  let pending = inFlight.get(requirementsPath);
  if (!pending) {
    pending = createVenv(name, requirementsPath, log).finally(() => inFlight.delete(requirementsPath));
    inFlight.set(requirementsPath, pending);
  }
  return pending;
}

async function createVenv(name: string, requirementsPath: string, log: (line: string) => void): Promise<string> {
  const requirements = await readFile(requirementsPath);
  const key = createHash('sha256').update(requirements).digest('hex').slice(0, 12);
  const venv = cacheDir('venvs', `${name}-${key}`);
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, '.complete'))) return python;

  const systemPython = await requirePython(10);
  log(`Installing the Python packages of ${basename(requirementsPath)} from PyPI into ${venv} (once)…`);
  await rm(venv, { recursive: true, force: true });
  await mkdir(cacheDir('venvs'), { recursive: true });
  const create = await runCommand(systemPython, ['-m', 'venv', venv]);
  if (create.code !== 0) {
    throw new UnavailableError(
      'venv-failed',
      `Creating a Python venv failed (Debian: \`apt-get install -y python3-venv\`):\n${create.output.slice(-1500)}`,
      { retriable: false },
    );
  }
  const install = await runCommand(python, [
    '-m',
    'pip',
    'install',
    '-q',
    '--disable-pip-version-check',
    '--only-binary=:all:',
    '-r',
    requirementsPath,
  ]);
  if (install.code !== 0) {
    await rm(venv, { recursive: true, force: true });
    throw registryUnreachable('PyPI', `the packages of ${requirementsPath}`, install.output);
  }
  await writeFile(join(venv, '.complete'), new Date().toISOString());
  return python;
}
