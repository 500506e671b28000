import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ContractError, UnavailableError } from '../../../topology/errors.ts';
import { crdSchemaDir, kubernetesSchemaDir } from './kubernetes-schemas.ts';
import { ensureGoTool } from './toolchain.ts';

// Renders a kustomization with kustomize and validates every resource with kubeconform against
// the registry-sourced schemas: strict (unknown fields are errors), and a resource whose schema is
// missing is an error too, never skipped.

export const K8S_DIR = fileURLToPath(new URL('..', import.meta.url));
export const KUSTOMIZATIONS = ['base', 'overlays/production'] as const;

export interface ResourceResult {
  kind: string;
  name: string;
  version: string;
  status: 'statusValid' | 'statusInvalid' | 'statusError' | 'statusSkipped' | 'statusEmpty';
  msg?: string;
}

export interface ValidationReport {
  kubernetes: string;
  resources: ResourceResult[];
  /** Every resource that is not valid, as `Kind/name: message`. */
  failures: string[];
}

function exec(command: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** `kustomize build <dir>`: the manifests as one multi-document YAML stream. */
export async function render(kustomization: string): Promise<string> {
  const kustomize = await ensureGoTool('kustomize');
  const { code, stdout, stderr } = await exec(kustomize, ['build', kustomization]);
  if (code !== 0) throw new ContractError('kustomize-build-failed', `kustomize build ${kustomization} failed: ${stderr.trim()}`);
  return stdout;
}

/** Validates a YAML stream against one Kubernetes release plus the KEDA and Prometheus Operator CRDs. */
export async function validate(manifests: string, kubernetes: string): Promise<ValidationReport> {
  const [kubeconform, k8sSchemas, crdSchemas] = await Promise.all([
    ensureGoTool('kubeconform'),
    kubernetesSchemaDir(kubernetes),
    crdSchemaDir(),
  ]);
  const args = [
    '-strict',
    '-verbose',
    '-output',
    'json',
    '-schema-location',
    `${k8sSchemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    '-schema-location',
    `${crdSchemas}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
    '-',
  ];
  const { stdout, stderr } = await exec(kubeconform, args, manifests);
  let parsed: { resources?: ResourceResult[] };
  try {
    parsed = JSON.parse(stdout) as { resources?: ResourceResult[] };
  } catch (error) {
    throw new UnavailableError('kubeconform-failed', `kubeconform printed no report: ${stderr.trim() || stdout.slice(0, 500)}`, {
      cause: error,
      retriable: false,
    });
  }
  const resources = parsed.resources ?? [];
  const failures = resources
    .filter((r) => r.status !== 'statusValid')
    .map((r) => `${r.kind}/${r.name} (${r.version}): ${r.status} ${r.msg ?? ''}`.trim());
  return { kubernetes, resources, failures };
}
