import type { ServiceEndpoints, ServiceName } from '../topology/index.ts';

// The endpoint shapes are the connections' (topology); infra code and the infra index take them from here.
export {
  SERVICE_NAMES,
  type ServiceName,
  type TlsSettings,
  type KafkaEndpoint,
  type RedisEndpoint,
  type QdrantEndpoint,
  type ServiceEndpoints,
} from '../topology/index.ts';

/** Where an endpoint came from: the environment, a container, or a process started on this machine. */
export type ProviderKind = 'env' | 'testcontainers' | 'local';

/**
 * `test`: throwaway data, random free ports, owned by the calling process.
 * `up`: persistent data on the well-known ports, detached so it outlives the CLI.
 */
export type Profile = 'test' | 'up';

export interface Services extends ServiceEndpoints {
  providers: Record<ServiceName, ProviderKind | 'none'>;
  /** Stops the service processes this call started; endpoints from the environment are left alone. Idempotent. */
  close(): Promise<void>;
}

export interface GetServicesOptions {
  profile?: Profile;
  /** Only these services are resolved; the others throw if used. Defaults to all three. */
  need?: readonly ServiceName[];
  /** Progress lines (downloads, starts); silent by default. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /**
   * With `false`, only attach: use endpoints from the environment or `up` services already running,
   * and fail (naming what to run or set) instead of starting anything. CLI commands other than
   * `up` use this so they never start a stray broker.
   */
  start?: boolean;
}

/** A running service that a provider started and knows how to stop (close()). */
export interface StartedService<E> {
  endpoint: E;
  /** Stops the service (its process or container) and removes throwaway data. Idempotent. */
  close(): Promise<void>;
  /** A process started on this machine, which fault tests may freeze, kill and restart. */
  process?: ServiceProcess;
}

/**
 * A local service process that fault tests can freeze, kill and start again on the same port and
 * data directory, as an operator restarting a server would.
 */
export interface ServiceProcess {
  readonly service: ServiceName;
  /** e.g. "kafka node 2"; for messages. */
  readonly label: string;
  /** The running process' pid; null while it is halted. */
  readonly pid: number | null;
  /** Sends a signal to the running process (SIGSTOP and SIGCONT freeze and resume it). */
  signal(name: NodeJS.Signals): void;
  /**
   * Ends the process, keeping its port and data: `graceful` sends SIGTERM (SIGKILL after the grace
   * period), `kill` is kill -9.
   */
  halt(how?: 'graceful' | 'kill'): Promise<void>;
  /** Starts the same command again; resolves once the service answers its own protocol. */
  restart(): Promise<void>;
  /** Stops it for good and removes throwaway data; restart() is refused afterwards. Idempotent. */
  close(): Promise<void>;
}
