import { CleanupError, ConfigError, ContractError, UnavailableError } from '../topology/errors.ts';
import { closeOnce } from '../topology/index.ts';
import { ENDPOINT_SETTINGS, kafkaFromEnv, qdrantFromEnv, redisFromEnv } from './env-provider.ts';
import { findRunning, reapOrphans, startKafka, startQdrant, startRedis } from './local/index.ts';
import {
  SERVICE_NAMES,
  type GetServicesOptions,
  type Profile,
  type ProviderKind,
  type ServiceEndpoints,
  type ServiceName,
  type Services,
  type StartedService,
} from './services.ts';
import { containerRuntimeAvailable, startKafkaContainer, startQdrantContainer, startRedisContainer } from './testcontainers-provider.ts';

type Resolved<K extends ServiceName> = { kind: ProviderKind; service: StartedService<ServiceEndpoints[K]> };

/**
 * Endpoints for Kafka, Redis and Qdrant, each from the first provider that applies: the
 * environment (KAFKA_BROKERS, REDIS_URL, QDRANT_URL), testcontainers when a container runtime
 * answers, or local processes. SEARCHBUS_PROVIDER=local|testcontainers skips the detection.
 */
export async function getServices(options: GetServicesOptions = {}): Promise<Services> {
  const profile = options.profile ?? 'test';
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const need = new Set(options.need ?? SERVICE_NAMES);

  const forced = env.SEARCHBUS_PROVIDER?.trim();
  if (forced && forced !== 'local' && forced !== 'testcontainers') {
    throw new ConfigError('SEARCHBUS_PROVIDER', `must be "local" or "testcontainers", got "${forced}"`);
  }
  let containers: Promise<boolean> | undefined;
  const useContainers = (): Promise<boolean> => {
    if (forced) return Promise.resolve(forced === 'testcontainers');
    // Services for `up` must outlive the CLI; testcontainers' reaper would remove them.
    if (profile === 'up') return Promise.resolve(false);
    containers ??= containerRuntimeAvailable();
    return containers;
  };
  let reaped: Promise<unknown> | undefined;
  const local = async <K extends ServiceName>(name: K, start: Start<K>): Promise<Resolved<K>> => {
    reaped ??= reapOrphans(log);
    await reaped;
    if (profile === 'up') {
      const running = await findRunning(name, 'up');
      if (running) return { kind: 'local', service: { endpoint: endpointOf(name, running.endpoint), close: noStop } };
    }
    if (options.start === false) {
      throw new UnavailableError(
        'service-not-running',
        `${name} is not running. Start the services with \`searchbus up\` (or \`searchbus infra up\`), or set ${ENDPOINT_SETTINGS[name]} to use your own.`,
        { retriable: false },
      );
    }
    return { kind: 'local', service: await start({ profile, env, log }) };
  };

  const resolve = async <K extends ServiceName>(name: K): Promise<Resolved<K>> => {
    const provider = PROVIDERS[name];
    const fromEnv = await provider.fromEnv(env);
    if (fromEnv) return { kind: 'env', service: { endpoint: fromEnv, close: noStop } };
    if (options.start !== false && (await useContainers())) return { kind: 'testcontainers', service: await provider.container() };
    return local(name, provider.local);
  };

  const names = SERVICE_NAMES.filter((n) => need.has(n));
  // In parallel: on a cold cache the Maven and PyPI downloads overlap.
  const settled = await Promise.allSettled(names.map((n) => resolve(n)));
  const started = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ name: names[i]!, service: s.value.service }] : []));
  const stopAll = async (): Promise<void> => {
    const results = await Promise.allSettled(started.map((s) => s.service.close()));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ step: `close ${started[i]!.name}`, error: r.reason as unknown }] : [],
    );
    if (failures.length > 0) throw new CleanupError('the services', failures, results.length);
  };
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    await stopAll().catch(() => undefined);
    throw failure.reason;
  }

  const providers: Record<ServiceName, ProviderKind | 'none'> = { kafka: 'none', redis: 'none', qdrant: 'none' };
  const endpoints: Partial<ServiceEndpoints> = {};
  names.forEach((name, i) => {
    const result = settled[i];
    if (result?.status !== 'fulfilled') return;
    providers[name] = result.value.kind;
    (endpoints as Record<ServiceName, unknown>)[name] = result.value.service.endpoint;
  });

  const services = {
    providers,
    close: closeOnce(stopAll),
  } as Services;
  for (const name of SERVICE_NAMES) {
    Object.defineProperty(services, name, {
      enumerable: true,
      get() {
        const endpoint = endpoints[name];
        if (!endpoint) throw new ContractError('service-not-requested', `${name} was not requested from getServices({ need })`);
        return endpoint;
      },
    });
  }
  return services;
}

type Start<K extends ServiceName> = (o: {
  profile: Profile;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}) => Promise<StartedService<ServiceEndpoints[K]>>;

/** Each service's three providers, tried in this order by getServices. */
const PROVIDERS: {
  [K in ServiceName]: {
    fromEnv: (env: NodeJS.ProcessEnv) => Promise<ServiceEndpoints[K] | null>;
    container: () => Promise<StartedService<ServiceEndpoints[K]>>;
    local: Start<K>;
  };
} = {
  kafka: { fromEnv: kafkaFromEnv, container: startKafkaContainer, local: startKafka },
  redis: { fromEnv: redisFromEnv, container: startRedisContainer, local: startRedis },
  qdrant: { fromEnv: qdrantFromEnv, container: startQdrantContainer, local: startQdrant },
};

/** Endpoints from the environment, and reused `up` services, are not ours to stop. */
const noStop = (): Promise<void> => Promise.resolve();

function endpointOf<K extends ServiceName>(name: K, raw: string): ServiceEndpoints[K] {
  const endpoint = name === 'kafka' ? { brokers: raw.split(',') } : { url: raw };
  return endpoint as ServiceEndpoints[K];
}
