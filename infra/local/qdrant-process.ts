import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, dataDir } from '../cache-dir.ts';
import { UnavailableError } from '../../topology/errors.ts';
import { registryUnreachable } from '../setup-failures.ts';
import { probeQdrant } from '../probes.ts';
import type { Profile, QdrantEndpoint, StartedService } from '../services.ts';
import { assertPortFree, freePort, portFromEnv } from './ports.ts';
import { requirePython } from './prerequisites.ts';
import { runCommand } from './run-command.ts';
import { startServiceProcess } from './service-process.ts';

const SERVER_DIR = fileURLToPath(new URL('../qdrant-edge/', import.meta.url));
const REQUIREMENTS = join(SERVER_DIR, 'requirements.txt');

/**
 * A venv with the pinned Qdrant Edge engine, keyed by the requirements' hash. A venv cannot be
 * moved after creation, so completeness is marked by a file written last instead of a rename.
 */
export async function ensureQdrantEdgeVenv(log: (line: string) => void = () => undefined): Promise<string> {
  const requirements = await readFile(REQUIREMENTS);
  const key = createHash('sha256').update(requirements).digest('hex').slice(0, 12);
  const venv = cacheDir('qdrant-edge', `venv-${key}`);
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, '.complete'))) return python;

  const systemPython = await requirePython(10);
  log('Installing the Qdrant Edge engine from PyPI (once)…');
  await rm(venv, { recursive: true, force: true });
  await mkdir(cacheDir('qdrant-edge'), { recursive: true });
  const create = await runCommand(systemPython, ['-m', 'venv', venv]);
  if (create.code !== 0) {
    throw new UnavailableError(
      'venv-failed',
      `Creating a Python venv failed (Debian: \`apt-get install -y python3-venv\`):\n${create.output.slice(-1500)}`,
      {
        retriable: false,
      },
    );
  }
  const install = await runCommand(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  if (install.code !== 0) {
    await rm(venv, { recursive: true, force: true });
    throw registryUnreachable('PyPI', 'qdrant-edge-py', install.output);
  }
  await writeFile(join(venv, '.complete'), new Date().toISOString());
  return python;
}

export async function startQdrant(options: {
  profile: Profile;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Tests only: require this key in the `api-key` header, as a Qdrant server with `service.api_key` does. */
  apiKey?: string;
}): Promise<StartedService<QdrantEndpoint>> {
  const { profile, env, log, apiKey } = options;
  const python = await ensureQdrantEdgeVenv(log);
  let port: number;
  if (profile === 'up') {
    port = portFromEnv(env, 'SEARCHBUS_QDRANT_PORT', 6333);
    await assertPortFree(port, 'Qdrant', 'SEARCHBUS_QDRANT_PORT');
  } else {
    port = await freePort();
  }
  const scratch = profile === 'test' ? await mkdtemp(join(tmpdir(), 'searchbus-qdrant-')) : null;
  const home = scratch ?? dataDir('qdrant');
  const storage = join(home, 'storage');
  await mkdir(storage, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  log(`Starting Qdrant (Edge engine) on 127.0.0.1:${port}…`);
  const qdrant = await startServiceProcess(
    {
      service: 'qdrant',
      profile,
      command: python,
      args: [
        join(SERVER_DIR, 'server.py'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--storage',
        storage,
        // A test run that is killed takes its Qdrant with it; `up` services outlive the CLI by design.
        ...(profile === 'test' ? ['--exit-with-parent'] : []),
        ...(apiKey ? ['--api-key', apiKey] : []),
      ],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      logFile: join(home, 'qdrant.log'),
      endpoint: url,
      scratchDir: scratch,
      probe: () => probeQdrant(url, undefined, 1_000),
      readyTimeoutMs: 30_000,
    },
    { graceMs: 10_000 },
  );
  return { endpoint: apiKey ? { url, apiKey } : { url }, close: () => qdrant.close(), process: qdrant };
}
