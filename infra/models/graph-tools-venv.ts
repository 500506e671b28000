// The Python venv that holds onnxruntime's offline transformer optimizer and quantizer. It is only
// needed by `searchbus setup` (derived model files are made once and cached); the encoder itself
// runs on onnxruntime-node.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../cache-dir.ts';
import { InfraError, RegistryUnreachableError } from '../errors.ts';
import { requirePython } from '../local/prerequisites.ts';
import { runCommand } from '../local/run-command.ts';

export const GRAPH_TOOLS_DIR = fileURLToPath(new URL('./graph-tools/', import.meta.url));
const REQUIREMENTS = join(GRAPH_TOOLS_DIR, 'requirements.txt');

// Concurrent callers in one process share one install.
let pending: Promise<string> | undefined;

/** Returns the venv's python, installing the pinned requirements once (keyed by their hash). */
export function ensureGraphToolsVenv(log: (line: string) => void = () => undefined): Promise<string> {
  pending ??= install(log).finally(() => (pending = undefined));
  return pending;
}

async function install(log: (line: string) => void): Promise<string> {
  const requirements = await readFile(REQUIREMENTS);
  const key = createHash('sha256').update(requirements).digest('hex').slice(0, 12);
  const venv = cacheDir('graph-tools', `venv-${key}`);
  const python = join(venv, 'bin', 'python');
  // A venv cannot be moved after creation, so completeness is a file written last.
  if (existsSync(join(venv, '.complete'))) return python;

  const systemPython = await requirePython(10);
  log('Installing onnxruntime (transformer optimizer and quantizer) from PyPI (once)…');
  await rm(venv, { recursive: true, force: true });
  await mkdir(cacheDir('graph-tools'), { recursive: true });
  const create = await runCommand(systemPython, ['-m', 'venv', venv]);
  if (create.code !== 0) {
    throw new InfraError(`Creating a Python venv failed (Debian: \`apt-get install -y python3-venv\`):\n${create.output.slice(-1500)}`);
  }
  const pip = await runCommand(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  if (pip.code !== 0) {
    await rm(venv, { recursive: true, force: true });
    throw new RegistryUnreachableError('PyPI', 'onnxruntime and onnx', pip.output);
  }
  await writeFile(join(venv, '.complete'), new Date().toISOString());
  return python;
}
