export { crdToJsonSchemas } from './crd-schemas.ts';
export { KUBERNETES_SCHEMAS } from './kubernetes-schemas.ts';
export { K8S_DIR, KUSTOMIZATIONS, render, validate } from './validate-manifests.ts';
