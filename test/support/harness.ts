import { randomUUID } from 'node:crypto';
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Admin, Kafka } from 'kafkajs';
import { setTimeout as delay } from 'node:timers/promises';
import { createKafka, getServices, type ServiceEndpoints, type ServiceName, type Services } from '../../infra/index.ts';
import { createQdrant } from '../../topology/connections/qdrant-client.ts';
import { applyTopology, createTopology, loadConfig, topicSpecs, type SearchbusConfig, type Topology } from '../../topology/index.ts';

// Integration tests get a namespace of their own (topics, groups, collection, alias), on the
// services `searchbus infra run` gives the suite in its environment, or local ones when run alone.

export interface Harness {
  namespace: string;
  topology: Topology;
  config: SearchbusConfig;
  env: Record<string, string>;
  services: Services;
  kafka: Kafka;
  admin: Admin;
  qdrant: QdrantClient;
  close(): Promise<void>;
}

/** The model every test runs with unless it names another. */
export const TEST_MODEL_ID = 'all-minilm-l6-v2';

export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createHarness(
  options: {
    env?: Record<string, string>;
    need?: ServiceName[];
    apply?: boolean;
    /** Endpoints of services the test started itself (fault tests restart them); the rest come from getServices. */
    own?: Partial<ServiceEndpoints>;
  } = {},
): Promise<Harness> {
  const namespace = uniqueNamespace();
  // Tests pin all-MiniLM-L6-v2 (the fastest model) rather than follow the default model, and turn
  // speech to text off (on by default) unless they test it: their recordings keep the points they expect.
  const env = {
    SEARCHBUS_NAMESPACE: namespace,
    SEARCHBUS_MODEL: TEST_MODEL_ID,
    SEARCHBUS_SPEECH_TO_TEXT: 'false',
    ...(options.env ?? {}),
  };
  const config = loadConfig(env);
  const topology = createTopology(namespace);
  const own = options.own ?? {};
  const need = (options.need ?? ['kafka', 'redis', 'qdrant']).filter((name) => own[name] === undefined);
  const shared = await getServices({ need });
  const services: Services = {
    kafka: own.kafka ?? shared.kafka,
    get redis() {
      return own.redis ?? shared.redis;
    },
    get qdrant() {
      return own.qdrant ?? shared.qdrant;
    },
    providers: shared.providers,
    close: () => shared.close(),
  };
  const kafka = createKafka(services.kafka, `test-${namespace}`);
  const admin = kafka.admin();
  await admin.connect();
  const qdrant = createQdrant(services.qdrant);
  if (options.apply !== false) await applyTopology({ admin, qdrant, topology, config });
  return {
    namespace,
    topology,
    config,
    env,
    services,
    kafka,
    admin,
    qdrant,
    async close() {
      const topics = topicSpecs(topology, config).map((t) => t.topic);
      const existing = new Set(await admin.listTopics());
      await admin.deleteTopics({ topics: topics.filter((t) => existing.has(t)) }).catch(() => undefined);
      const { collections } = await qdrant.getCollections();
      const watches = topology.qdrant.watchCollection('');
      for (const c of collections.filter((c) => c.name.startsWith(topology.qdrant.alias) || c.name.startsWith(watches)))
        await qdrant.deleteCollection(c.name);
      await admin.disconnect();
      await services.close();
    },
  };
}

/**
 * Polls `check` until it returns a value that is not undefined; an explicit readiness wait. A check
 * that itself never settles (a client call stuck on a killed broker) fails the wait at its deadline
 * too, naming what was awaited, instead of hanging the test file until the runner cancels it.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const timedOut = (last: unknown): Error =>
    new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
  let last: unknown;
  for (;;) {
    const remaining = new AbortController();
    try {
      const value = await Promise.race([
        check(),
        delay(Math.max(0, deadline - Date.now()), undefined, { signal: remaining.signal }).then(() => {
          throw timedOut(new Error('the last check did not settle'));
        }),
      ]);
      if (value !== undefined) return value;
    } catch (error) {
      if (Date.now() > deadline) throw error instanceof Error && error.message.startsWith('timed out after') ? error : timedOut(error);
      last = error;
    } finally {
      remaining.abort();
    }
    if (Date.now() > deadline) throw timedOut(last);
    await delay(intervalMs);
  }
}

/** Every point of a collection, by scrolling. */
export async function allPoints(
  qdrant: QdrantClient,
  collection: string,
): Promise<Array<{ id: string | number; payload: Record<string, unknown> }>> {
  const points: Array<{ id: string | number; payload: Record<string, unknown> }> = [];
  let offset: string | number | undefined;
  for (;;) {
    const page = await qdrant.scroll(collection, {
      limit: 1000,
      with_payload: true,
      with_vector: false,
      ...(offset !== undefined ? { offset } : {}),
    });
    for (const p of page.points) points.push({ id: p.id, payload: p.payload ?? {} });
    const next = page.next_page_offset;
    if (next === undefined || next === null || typeof next === 'object') return points;
    offset = next;
  }
}
