import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../cache-dir.ts';
import { UnavailableError } from '../../../topology/errors.ts';
import { missingPrerequisite, registryUnreachable } from '../../setup-failures.ts';

// The tools that render and validate the Kubernetes manifests, and the modules that carry the
// CRDs, all from the Go module proxy, built once and cached under the searchbus cache
// (`go/`), so that a CI machine with no access to GitHub can run the check.

const run = promisify(execFile);

/** Pinned versions; the newest that build with Go 1.26 (kustomize 5.8.3 needs Go 1.27). */
export const K8S_TOOLS = {
  kustomize: { module: 'sigs.k8s.io/kustomize/kustomize/v5', version: 'v5.8.2', binary: 'kustomize' },
  kubeconform: { module: 'github.com/yannh/kubeconform/cmd/kubeconform', version: 'v0.8.0', binary: 'kubeconform' },
} as const;

/** Go modules whose source trees hold the CRDs the manifests use. */
export const CRD_MODULES = {
  keda: { module: 'github.com/kedacore/keda/v2', version: 'v2.21.0', crdDir: 'config/crd/bases' },
  prometheusOperator: {
    module: 'github.com/prometheus-operator/prometheus-operator',
    version: 'v0.85.0',
    crdDir: 'example/prometheus-operator-crd',
  },
} as const;

function goBinary(): string {
  if (process.env.SEARCHBUS_GO) return process.env.SEARCHBUS_GO;
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
}

/** The go command's environment: the module proxy only (never a direct VCS fetch), caches under ours. */
function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPROXY: 'https://proxy.golang.org',
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-modcacherw',
    GOMODCACHE: cacheDir('go', 'mod'),
    GOCACHE: cacheDir('go', 'build'),
    GOPATH: cacheDir('go', 'path'),
  };
}

async function go(args: string[], env: NodeJS.ProcessEnv = goEnv()): Promise<string> {
  try {
    const { stdout } = await run(goBinary(), args, { env, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw missingPrerequisite(
        'Go 1.24+',
        'It builds kustomize and kubeconform for the manifest check (set SEARCHBUS_GO, or install Go).',
        error,
      );
    }
    throw registryUnreachable('the Go module proxy', `go ${args.join(' ')}`, e.stderr ?? e.message);
  }
}

/** The path of a pinned tool, `go install`ed into the cache the first time. */
export async function ensureGoTool(tool: keyof typeof K8S_TOOLS): Promise<string> {
  const { module, version, binary } = K8S_TOOLS[tool];
  const bin = cacheDir('go', 'bin', `${binary}-${version}`);
  const path = join(bin, binary);
  if (existsSync(path)) return path;
  await mkdir(bin, { recursive: true });
  await go(['install', `${module}@${version}`], { ...goEnv(), GOBIN: bin });
  if (!existsSync(path))
    throw new UnavailableError('go-install-failed', `go install ${module}@${version} left no ${path}`, { retriable: false });
  return path;
}

/** The extracted source tree of a pinned module (read-only files in the module cache). */
async function goModuleDir(name: keyof typeof CRD_MODULES): Promise<string> {
  const { module, version } = CRD_MODULES[name];
  const out = await go(['mod', 'download', '-json', `${module}@${version}`]);
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw registryUnreachable('the Go module proxy', `${module}@${version}`, info.Error ?? out);
  return info.Dir;
}

/** The CRD files of a module, by path. */
export async function crdFiles(name: keyof typeof CRD_MODULES): Promise<string[]> {
  const dir = join(await goModuleDir(name), CRD_MODULES[name].crdDir);
  return (await readdir(dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}
