import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { kafkaSettings, qdrantSettings, redisSettings } from '../../infra/index.ts';
import { K8S_DIR, KUBERNETES_SCHEMAS, KUSTOMIZATIONS, render, validate } from '../../infra/k8s/validation/index.ts';
import { ROLE_NAMES } from '../../infra/cli/roles.ts';
import { createTopology, loadConfig, topicSpecs } from '../../topology/index.ts';

// The Kubernetes manifests under infra/k8s, rendered with kustomize and validated with kubeconform
// against Kubernetes' schemas (PyPI kubernetes-validate) and the KEDA and Prometheus Operator CRDs
// (their Go modules), all fetched from registries and cached. Then what no schema knows: the
// names, partition caps, probes and credentials agree with searchbus' own code.

interface Container {
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet?: unknown };
  readinessProbe?: { httpGet?: unknown };
  resources?: { requests?: { cpu?: string; memory?: string } };
  envFrom?: Array<{ secretRef?: { name: string } }>;
}

/** The fields of the rendered kinds that the checks below read. */
interface Spec {
  scaleTargetRef?: { name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers?: Array<{ type: string; metadata: Record<string, string>; authenticationRef: { name: string } }>;
  selector?: { matchLabels?: Record<string, string> };
  template?: { spec: { containers: Container[]; securityContext?: { runAsNonRoot?: boolean } } };
  endpoints?: Array<{ port?: string }>;
  ports?: Array<{ name: string }>;
}

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Spec;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function containerOf(resource: Resource): Container {
  return resource.spec?.template?.spec.containers[0] ?? assert.fail(`${resource.kind}/${resource.metadata.name} has a container`);
}

function parse(manifests: string): Resource[] {
  return parseAllDocuments(manifests).map((d) => d.toJS() as Resource);
}

function find(resources: Resource[], kind: string, name: string): Resource {
  return resources.find((r) => r.kind === kind && r.metadata.name === name) ?? assert.fail(`${kind}/${name} is rendered`);
}

/** A Secret's values as the pod sees them (kustomize's generator writes base64 `data`). */
function secretEnv(secret: Resource): Record<string, string> {
  const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { ...decoded, ...(secret.stringData ?? {}) };
}

for (const kustomization of KUSTOMIZATIONS) {
  describe(`infra/k8s/${kustomization}`, () => {
    let manifests: string;
    let resources: Resource[];

    before(async () => {
      manifests = await render(join(K8S_DIR, kustomization));
      resources = parse(manifests);
    });

    for (const release of KUBERNETES_SCHEMAS.kubernetes) {
      it(`validates strictly against Kubernetes ${release}, KEDA and ServiceMonitor schemas, with no resource left unchecked`, async () => {
        const report = await validate(manifests, release);
        assert.deepEqual(report.failures, []);
        assert.equal(report.resources.length, resources.length);
        const kinds = new Set(report.resources.map((r) => r.kind));
        for (const kind of [
          'Deployment',
          'Job',
          'PodDisruptionBudget',
          'ServiceMonitor',
          'ScaledObject',
          'TriggerAuthentication',
          'Secret',
          'ConfigMap',
          'Service',
        ]) {
          assert.ok(kinds.has(kind), `a ${kind} is rendered and validated`);
        }
      });
    }

    it('scales encoders and query consumers on the lag of their real groups and topics, capped at the partition count', () => {
      const config = loadConfig(find(resources, 'ConfigMap', 'searchbus-config').data ?? {});
      const topology = createTopology(config.namespace);
      const partitions = new Map(topicSpecs(topology, config).map((t) => [t.topic, t.numPartitions]));
      const cases = [
        { role: 'encoder', group: topology.groups.encoder, topic: topology.topics.ingest },
        { role: 'query', group: topology.groups.query, topic: topology.topics.searchRequests },
      ];
      for (const { role, group, topic } of cases) {
        const scaled = find(resources, 'ScaledObject', `searchbus-${role}`).spec ?? assert.fail('a spec');
        assert.equal(scaled.scaleTargetRef?.name, `searchbus-${role}`);
        find(resources, 'Deployment', `searchbus-${role}`);
        const [trigger, ...others] = scaled.triggers ?? [];
        assert.equal(others.length, 0);
        assert.equal(trigger?.type, 'kafka');
        assert.equal(trigger.metadata.consumerGroup, group);
        assert.equal(trigger.metadata.topic, topic);
        assert.equal(trigger.metadata.allowIdleConsumers, 'false');
        assert.equal(scaled.maxReplicaCount, partitions.get(topic), `${role}: maxReplicaCount is the partition count of ${topic}`);
        assert.ok((scaled.minReplicaCount ?? 0) >= 1 && (scaled.minReplicaCount ?? 0) <= (scaled.maxReplicaCount ?? 0));
        find(resources, 'TriggerAuthentication', trigger.authenticationRef.name);
      }
      assert.equal(find(resources, 'ScaledObject', 'searchbus-encoder').spec?.maxReplicaCount, config.ingest.partitions);
    });

    it('runs every role with /livez and /readyz probes on its health port, resource requests and a PodDisruptionBudget', () => {
      const config = loadConfig(find(resources, 'ConfigMap', 'searchbus-config').data ?? {});
      assert.equal(config.metricsHost, '0.0.0.0');
      for (const role of ROLE_NAMES) {
        const deployment = find(resources, 'Deployment', `searchbus-${role}`);
        const container = containerOf(deployment);
        assert.deepEqual(container.args, ['run', role]);
        assert.equal(container.ports?.find((p) => p.name === 'metrics')?.containerPort, config.metricsPort);
        assert.deepEqual(container.livenessProbe?.httpGet, { path: '/livez', port: 'metrics' });
        assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics' });
        assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, `${role} requests CPU and memory`);
        assert.equal(deployment.spec?.template?.spec.securityContext?.runAsNonRoot, true);
        assert.equal(deployment.spec?.selector?.matchLabels?.['app.kubernetes.io/component'], role);
        const pdb = resources.find(
          (r) => r.kind === 'PodDisruptionBudget' && r.spec?.selector?.matchLabels?.['app.kubernetes.io/component'] === role,
        );
        assert.ok(pdb, `a PodDisruptionBudget covers ${role}`);
      }
      assert.deepEqual(containerOf(find(resources, 'Job', 'searchbus-topology')).args, ['topology', 'apply']);
      const monitor = find(resources, 'ServiceMonitor', 'searchbus').spec ?? assert.fail('a spec');
      const wanted = Object.entries(monitor.selector?.matchLabels ?? {});
      assert.ok(wanted.length > 0);
      const service = resources.find((r) => r.kind === 'Service' && wanted.every(([k, v]) => r.metadata.labels?.[k] === v));
      assert.ok(service, 'the ServiceMonitor selects a Service');
      assert.ok(service.spec?.ports?.some((p) => p.name === monitor.endpoints?.[0]?.port));
    });

    it("holds Kafka, Redis and Qdrant credentials under searchbus' own setting names, accepted by its own checks", () => {
      const env = {
        ...secretEnv(find(resources, 'Secret', 'searchbus-kafka')),
        ...secretEnv(find(resources, 'Secret', 'searchbus-redis')),
        ...secretEnv(find(resources, 'Secret', 'searchbus-qdrant')),
      };
      assert.ok(kafkaSettings(env), 'KAFKA_BROKERS is set');
      assert.ok(redisSettings(env), 'REDIS_URL is set');
      assert.ok(qdrantSettings(env), 'QDRANT_URL is set');
      for (const role of ROLE_NAMES) {
        const refs = (containerOf(find(resources, 'Deployment', `searchbus-${role}`)).envFrom ?? [])
          .map((e) => e.secretRef?.name)
          .filter(Boolean);
        assert.deepEqual(refs.sort(), ['searchbus-kafka', 'searchbus-qdrant', 'searchbus-redis']);
      }
    });
  });
}

describe('the manifest check', () => {
  it('rejects what the schemas refuse: a misspelled ScaledObject field, a string count, a PDB with an unknown field', async () => {
    const broken = `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: broken
spec:
  scaleTargetRef:
    name: searchbus-encoder
  maxReplicaCounts: 3
  triggers: []
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: "three"
  selector:
    matchLabels: { app: broken }
  template:
    metadata:
      labels: { app: broken }
    spec:
      containers:
        - name: c
          image: searchbus
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: broken
spec:
  maxUnavailable: 1
  selectr: {}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: broken
spec:
  selector: {}
  endpoints:
    - port: metrics
      intervall: 30s
`;
    const report = await validate(broken, KUBERNETES_SCHEMAS.kubernetes[0]);
    assert.equal(report.resources.length, 4);
    assert.equal(report.failures.length, 4, report.failures.join('\n'));
    assert.ok(
      report.failures.every((f) => f.includes('statusInvalid')),
      report.failures.join('\n'),
    );
    assert.ok(report.failures.some((f) => f.startsWith('ScaledObject/broken') && f.includes('maxReplicaCounts')));
    assert.ok(report.failures.some((f) => f.startsWith('ServiceMonitor/broken') && f.includes('intervall')));
  });
});
