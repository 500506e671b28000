export { crdToJsonSchemas, type CrdSchema } from './crd-schemas.ts';
export { crdSchemaDir, kubernetesSchemaDir, KUBERNETES_SCHEMAS } from './kubernetes-schemas.ts';
export { CRD_MODULES, ensureGoTool, K8S_TOOLS } from './toolchain.ts';
export { K8S_DIR, KUSTOMIZATIONS, render, validate, type ResourceResult, type ValidationReport } from './validate-manifests.ts';
