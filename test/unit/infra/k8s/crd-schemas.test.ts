import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crdToJsonSchemas } from '../../../../infra/k8s/validation/index.ts';

const CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            metadata:
              type: object
            spec:
              type: object
              properties:
                port:
                  x-kubernetes-int-or-string: true
                note:
                  type: string
                  nullable: true
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    known:
                      type: string
                items:
                  type: array
                  items:
                    type: object
                    properties:
                      name:
                        type: string
    - name: v0
      served: false
      schema:
        openAPIV3Schema:
          type: object
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-crd
`;

/** The value at a path of property names inside a schema. */
function at(node: unknown, ...path: string[]): unknown {
  let current = node;
  for (const key of path) current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
  return current;
}

describe('crdToJsonSchemas', () => {
  const [only, ...rest] = crdToJsonSchemas(CRD);
  const schema = only?.schema;
  const spec = (field: string, ...path: string[]): unknown => at(schema, 'properties', 'spec', 'properties', field, ...path);

  it("names one schema per served version in kubeconform's CRD layout", () => {
    assert.equal(rest.length, 0);
    assert.equal(only?.path, 'example.com/widget_v1.json');
  });

  it('pins apiVersion and kind, and refuses unknown fields where the CRD lists its properties', () => {
    assert.deepEqual(at(schema, 'properties', 'apiVersion'), { type: 'string', enum: ['example.com/v1'] });
    assert.deepEqual(at(schema, 'properties', 'kind'), { type: 'string', enum: ['Widget'] });
    assert.equal(at(schema, 'additionalProperties'), false);
    assert.equal(at(schema, 'properties', 'spec', 'additionalProperties'), false);
    assert.equal(spec('items', 'items', 'additionalProperties'), false);
    // metadata lists no properties: left open, as the API server treats it.
    assert.equal(at(schema, 'properties', 'metadata', 'additionalProperties'), undefined);
  });

  it('accepts what the API server accepts: int-or-string, null for nullable, anything where unknown fields are preserved', () => {
    assert.deepEqual(spec('port', 'anyOf'), [{ type: 'integer' }, { type: 'string' }]);
    assert.equal(spec('port', 'type'), undefined);
    assert.deepEqual(spec('note', 'type'), ['string', 'null']);
    assert.equal(spec('extra', 'additionalProperties'), undefined);
  });
});
