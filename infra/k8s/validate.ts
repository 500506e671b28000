// Renders every kustomization under infra/k8s and validates it against the Kubernetes releases
// in KUBERNETES_SCHEMAS and the KEDA and Prometheus Operator CRDs (tools and schemas come from
// the Go module proxy and PyPI, cached under the searchbus cache):
//
//   node --import tsx infra/k8s/validate.ts
import { join } from 'node:path';
import { K8S_DIR, KUBERNETES_SCHEMAS, KUSTOMIZATIONS, render, validate } from './validation/index.ts';

let failed = 0;
for (const kustomization of KUSTOMIZATIONS) {
  const manifests = await render(join(K8S_DIR, kustomization));
  for (const release of KUBERNETES_SCHEMAS.kubernetes) {
    const report = await validate(manifests, release);
    const valid = report.resources.length - report.failures.length;
    console.log(`${kustomization} on Kubernetes ${release}: ${valid} of ${report.resources.length} resources valid`);
    for (const failure of report.failures) console.log(`  ${failure}`);
    failed += report.failures.length;
  }
}
process.exitCode = failed > 0 ? 1 : 0;
