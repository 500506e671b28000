// Where the three services are and how to reach them: what the connection settings resolve to,
// whichever provider (environment, containers, local processes) supplied them.
export type ServiceName = 'kafka' | 'redis' | 'qdrant';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'redis', 'qdrant'];

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
