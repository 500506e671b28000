export type ServiceName = 'kafka' | 'redis' | 'qdrant';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'redis', 'qdrant'];

/** Where an endpoint came from: the environment, a container, or a process started on this machine. */
export type ProviderKind = 'env' | 'testcontainers' | 'local';

/**
 * `test`: throwaway data, random free ports, owned by the calling process.
 * `up`: persistent data on the well-known ports, detached so it outlives the CLI.
 */
export type Profile = 'test' | 'up';

/** A PEM file read at start-up; `setting` is the variable that named it, for messages. */
export interface PemFile {
  setting: string;
  file: string;
  pem: string;
}

/** A secret and the variable it came from (the value is never printed). */
export interface Secret {
  setting: string;
  value: string;
}

/** TLS towards a server. Without `ca`, Node's built-in CA certificates decide what is trusted. */
export interface TlsSettings {
  ca?: PemFile;
  /** Client certificate and key, for servers that require mutual TLS; always given together. */
  cert?: PemFile;
  key?: PemFile;
}

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSasl {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: Secret;
}

export interface KafkaEndpoint {
  brokers: string[];
  /** Present for KAFKA_SECURITY_PROTOCOL ssl and sasl_ssl. */
  tls?: TlsSettings;
  /** Present for KAFKA_SECURITY_PROTOCOL sasl_plaintext and sasl_ssl. */
  sasl?: KafkaSasl;
}
export interface RedisEndpoint {
  /** `redis://` or `rediss://` (TLS) URL, never with credentials in it: those are moved to the fields below. */
  url: string;
  /** ACL user; absent with a password: the `default` user. */
  username?: string;
  password?: Secret;
  /** Present exactly when the URL is `rediss://`. */
  tls?: TlsSettings;
}
export interface QdrantEndpoint {
  url: string;
  apiKey?: string;
}

export interface ServiceEndpoints {
  kafka: KafkaEndpoint;
  redis: RedisEndpoint;
  qdrant: QdrantEndpoint;
}

export interface Services extends ServiceEndpoints {
  providers: Record<ServiceName, ProviderKind | 'none'>;
  /** Stops what this call started; endpoints from the environment are left alone. Safe to call twice. */
  stop(): Promise<void>;
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

/** A running service that a provider started and knows how to stop. */
export interface StartedService<E> {
  endpoint: E;
  stop(): Promise<void>;
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
  /** Stops it for good and removes throwaway data. Safe to call twice. */
  stop(): Promise<void>;
}
