import { parseAllDocuments } from 'yaml';

// A CustomResourceDefinition's OpenAPI v3 schema as a JSON schema kubeconform can use: one schema
// per served version, named `<group>/<kind>_<version>.json` (kubeconform's CRD layout). As the
// Kubernetes API server does, int-or-string fields take either, nullable fields take null, and
// (for -strict checking) an object that lists its properties refuses others unless it preserves
// unknown fields.

export interface CrdSchema {
  /** Relative path under the schema root, e.g. `keda.sh/scaledobject_v1alpha1.json`. */
  path: string;
  schema: Record<string, unknown>;
}

type Json = Record<string, unknown>;

interface Crd {
  kind?: string;
  spec?: {
    group?: string;
    names?: { kind?: string };
    versions?: Array<{ name?: string; served?: boolean; schema?: { openAPIV3Schema?: Json } }>;
  };
}

export function crdToJsonSchemas(yamlText: string): CrdSchema[] {
  const out: CrdSchema[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    const crd = doc.toJS() as Crd | null;
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    const group = crd.spec?.group;
    const kind = crd.spec?.names?.kind;
    if (!group || !kind) throw new Error('a CustomResourceDefinition without spec.group or spec.names.kind');
    for (const version of crd.spec?.versions ?? []) {
      const openApi = version.schema?.openAPIV3Schema;
      if (!version.name || version.served === false || !openApi) continue;
      const schema = strict(openApi);
      const properties = (schema.properties ?? {}) as Json;
      // Pin the kind and version, as kubeconform's converter does, so a document cannot pass
      // against the schema of another resource.
      properties.apiVersion = { type: 'string', enum: [`${group}/${version.name}`] };
      properties.kind = { type: 'string', enum: [kind] };
      schema.properties = properties;
      out.push({ path: `${group}/${kind.toLowerCase()}_${version.name}.json`, schema });
    }
  }
  return out;
}

function strict(node: Json): Json {
  const result: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isObject(value)) {
      result.properties = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, isObject(child) ? strict(child) : child]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isObject(value)) {
      result[key] = strict(value);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      result[key] = value.map((v: unknown) => (isObject(v) ? strict(v) : v));
    } else {
      result[key] = value;
    }
  }
  if (result['x-kubernetes-int-or-string'] === true) {
    delete result.type;
    // controller-gen already writes anyOf [integer, string] (with any pattern); keep it if so.
    result.anyOf ??= [{ type: 'integer' }, { type: 'string' }];
  }
  if (result.nullable === true && typeof result.type === 'string') result.type = [result.type, 'null'];
  if (isObject(result.properties) && result.additionalProperties === undefined && result['x-kubernetes-preserve-unknown-fields'] !== true) {
    result.additionalProperties = false;
  }
  return result;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
