import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type {
  KafkaEndpoint,
  KafkaSasl,
  KafkaSaslMechanism,
  PemFile,
  QdrantEndpoint,
  RedisEndpoint,
  Secret,
  TlsSettings,
} from './endpoints.ts';

// How searchbus reaches services it did not start: every variable is read and checked here, once, at
// start-up. A contradiction, a missing half of a pair or an unreadable file fails with a ConfigError
// naming the variable; whether the server accepts what is configured is the probe's part.

export const CONNECTION_SETTINGS = {
  kafkaBrokers: 'KAFKA_BROKERS',
  kafkaSecurityProtocol: 'KAFKA_SECURITY_PROTOCOL',
  kafkaSaslMechanism: 'KAFKA_SASL_MECHANISM',
  kafkaSaslUsername: 'KAFKA_SASL_USERNAME',
  kafkaSaslPassword: 'KAFKA_SASL_PASSWORD',
  kafkaSaslPasswordFile: 'KAFKA_SASL_PASSWORD_FILE',
  kafkaSslCaFile: 'KAFKA_SSL_CA_FILE',
  kafkaSslCertFile: 'KAFKA_SSL_CERT_FILE',
  kafkaSslKeyFile: 'KAFKA_SSL_KEY_FILE',
  redisUrl: 'REDIS_URL',
  redisUsername: 'REDIS_USERNAME',
  redisPassword: 'REDIS_PASSWORD',
  redisPasswordFile: 'REDIS_PASSWORD_FILE',
  redisTlsCaFile: 'REDIS_TLS_CA_FILE',
  redisTlsCertFile: 'REDIS_TLS_CERT_FILE',
  redisTlsKeyFile: 'REDIS_TLS_KEY_FILE',
  qdrantUrl: 'QDRANT_URL',
  qdrantApiKey: 'QDRANT_API_KEY',
} as const;

const S = CONNECTION_SETTINGS;

export const KAFKA_SECURITY_PROTOCOLS = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];
const KAFKA_SASL_MECHANISMS: readonly KafkaSaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

/** The Kafka settings, or null when KAFKA_BROKERS is unset (searchbus then starts a plaintext broker). */
export function kafkaSettings(env: NodeJS.ProcessEnv): KafkaEndpoint | null {
  const get = reader(env);
  const raw = get(S.kafkaBrokers);
  if (!raw) {
    refuseWithoutEndpoint(
      get,
      S.kafkaBrokers,
      [
        S.kafkaSecurityProtocol,
        S.kafkaSaslMechanism,
        S.kafkaSaslUsername,
        S.kafkaSaslPassword,
        S.kafkaSaslPasswordFile,
        S.kafkaSslCaFile,
        S.kafkaSslCertFile,
        S.kafkaSslKeyFile,
      ],
      'broker',
    );
    return null;
  }
  const brokers = raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const broker of brokers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(broker))
      throw new ConfigError(S.kafkaBrokers, `must be a comma-separated list of host:port, got "${broker}"`);
  }

  const protocolRaw = get(S.kafkaSecurityProtocol)?.toLowerCase() ?? 'plaintext';
  if (!(KAFKA_SECURITY_PROTOCOLS as readonly string[]).includes(protocolRaw)) {
    throw new ConfigError(S.kafkaSecurityProtocol, `must be one of ${KAFKA_SECURITY_PROTOCOLS.join(', ')}, got "${protocolRaw}"`);
  }
  const protocol = protocolRaw as KafkaSecurityProtocol;
  const usesSasl = protocol.startsWith('sasl_');
  const usesTls = protocol === 'ssl' || protocol === 'sasl_ssl';

  if (!usesSasl) {
    const stray = [S.kafkaSaslMechanism, S.kafkaSaslUsername, S.kafkaSaslPassword, S.kafkaSaslPasswordFile].find((name) => get(name));
    if (stray)
      throw new ConfigError(
        S.kafkaSecurityProtocol,
        `is ${protocol}${get(S.kafkaSecurityProtocol) ? '' : ' (the default)'}, which does not use SASL, but ${stray} is set; use sasl_ssl (or sasl_plaintext)`,
      );
  }
  if (!usesTls) {
    const stray = [S.kafkaSslCaFile, S.kafkaSslCertFile, S.kafkaSslKeyFile].find((name) => get(name));
    if (stray)
      throw new ConfigError(
        S.kafkaSecurityProtocol,
        `is ${protocol}${get(S.kafkaSecurityProtocol) ? '' : ' (the default)'}, which does not use TLS, but ${stray} is set; use ssl or sasl_ssl`,
      );
  }

  const endpoint: KafkaEndpoint = { brokers };
  if (usesTls) endpoint.tls = tlsSettings(get, { ca: S.kafkaSslCaFile, cert: S.kafkaSslCertFile, key: S.kafkaSslKeyFile });
  if (usesSasl) endpoint.sasl = kafkaSasl(get, protocol);
  return endpoint;
}

function kafkaSasl(get: Get, protocol: KafkaSecurityProtocol): KafkaSasl {
  const mechanismRaw = get(S.kafkaSaslMechanism);
  if (!mechanismRaw)
    throw new ConfigError(
      S.kafkaSaslMechanism,
      `is required with KAFKA_SECURITY_PROTOCOL=${protocol}: one of ${KAFKA_SASL_MECHANISMS.join(', ')}`,
    );
  const mechanism = mechanismRaw.toLowerCase() as KafkaSaslMechanism;
  if (!KAFKA_SASL_MECHANISMS.includes(mechanism)) {
    throw new ConfigError(S.kafkaSaslMechanism, `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')} (any case), got "${mechanismRaw}"`);
  }
  const username = get(S.kafkaSaslUsername);
  if (!username) throw new ConfigError(S.kafkaSaslUsername, `is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  const password = secret(get, S.kafkaSaslPassword, S.kafkaSaslPasswordFile);
  if (!password)
    throw new ConfigError(S.kafkaSaslPassword, `(or ${S.kafkaSaslPasswordFile}) is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  return { mechanism, username, password };
}

/** The Redis settings, or null when REDIS_URL is unset (searchbus then starts redis-server without TLS or ACL). */
export function redisSettings(env: NodeJS.ProcessEnv): RedisEndpoint | null {
  const get = reader(env);
  const raw = get(S.redisUrl);
  if (!raw) {
    refuseWithoutEndpoint(
      get,
      S.redisUrl,
      [S.redisUsername, S.redisPassword, S.redisPasswordFile, S.redisTlsCaFile, S.redisTlsCertFile, S.redisTlsKeyFile],
      'redis-server',
    );
    return null;
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(S.redisUrl, `is not a URL (expected redis://[user:password@]host:port or rediss://…)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(S.redisUrl, `must start with redis:// or rediss://, got "${parsed.protocol}//…"`);
  }
  if (!parsed.hostname) throw new ConfigError(S.redisUrl, 'names no host');
  if (parsed.pathname.length > 1 && !/^\/\d+$/.test(parsed.pathname)) {
    throw new ConfigError(S.redisUrl, `the path must be a database number, got "${parsed.pathname}"`);
  }
  const usesTls = parsed.protocol === 'rediss:';

  // Credentials leave the URL, so the URL can be logged and passed around; they are kept apart.
  const urlUser = decodeURIComponent(parsed.username);
  const urlPassword = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const endpoint: RedisEndpoint = { url: parsed.toString().replace(/\/$/, '') };

  const password = secret(get, S.redisPassword, S.redisPasswordFile);
  const username = get(S.redisUsername);
  if (urlUser || urlPassword) {
    const twice = [S.redisUsername, S.redisPassword, S.redisPasswordFile].find((name) => get(name));
    if (twice) throw new ConfigError(twice, 'is set but REDIS_URL already holds credentials; give them in one place');
    if (!urlPassword) throw new ConfigError(S.redisUrl, `names the user "${urlUser}" without a password (redis://user:password@host:port)`);
    if (urlUser) endpoint.username = urlUser;
    endpoint.password = { setting: S.redisUrl, value: urlPassword };
  } else {
    if (username && !password) throw new ConfigError(S.redisPassword, `(or ${S.redisPasswordFile}) is required with REDIS_USERNAME`);
    if (username) endpoint.username = username;
    if (password) endpoint.password = password;
  }

  if (usesTls) {
    endpoint.tls = tlsSettings(get, { ca: S.redisTlsCaFile, cert: S.redisTlsCertFile, key: S.redisTlsKeyFile });
  } else {
    const stray = [S.redisTlsCaFile, S.redisTlsCertFile, S.redisTlsKeyFile].find((name) => get(name));
    if (stray) throw new ConfigError(stray, 'is set but REDIS_URL starts with redis://, which does not use TLS; use rediss://');
  }
  return endpoint;
}

/** The Qdrant settings, or null when QDRANT_URL is unset (searchbus then starts the Qdrant Edge engine). */
export function qdrantSettings(env: NodeJS.ProcessEnv): QdrantEndpoint | null {
  const get = reader(env);
  const url = get(S.qdrantUrl);
  if (!url) {
    refuseWithoutEndpoint(get, S.qdrantUrl, [S.qdrantApiKey], 'Qdrant engine');
    return null;
  }
  if (!/^https?:\/\/[^/]/.test(url)) throw new ConfigError(S.qdrantUrl, `must start with http:// or https://, got "${redactUrl(url)}"`);
  try {
    new URL(url);
  } catch {
    throw new ConfigError(S.qdrantUrl, 'is not a URL');
  }
  const apiKey = get(S.qdrantApiKey);
  return apiKey ? { url, apiKey } : { url };
}

/**
 * The variables that give a child process the same endpoints: for `infra run` and for roles started
 * as processes. Secrets are included (the child needs them); never print the result.
 */
export function endpointEnv(endpoints: { kafka?: KafkaEndpoint; redis?: RedisEndpoint; qdrant?: QdrantEndpoint }): Record<string, string> {
  const env: Record<string, string> = {};
  const { kafka, redis, qdrant } = endpoints;
  if (kafka) {
    env[S.kafkaBrokers] = kafka.brokers.join(',');
    if (kafka.tls || kafka.sasl) env[S.kafkaSecurityProtocol] = `${kafka.sasl ? 'sasl_' : ''}${kafka.tls ? 'ssl' : 'plaintext'}`;
    if (kafka.sasl) {
      env[S.kafkaSaslMechanism] = kafka.sasl.mechanism;
      env[S.kafkaSaslUsername] = kafka.sasl.username;
      env[S.kafkaSaslPassword] = kafka.sasl.password.value;
    }
    Object.assign(env, tlsEnv(kafka.tls));
  }
  if (redis) {
    env[S.redisUrl] = redis.url;
    if (redis.username) env[S.redisUsername] = redis.username;
    if (redis.password) env[S.redisPassword] = redis.password.value;
    Object.assign(env, tlsEnv(redis.tls));
  }
  if (qdrant) {
    env[S.qdrantUrl] = qdrant.url;
    if (qdrant.apiKey) env[S.qdrantApiKey] = qdrant.apiKey;
  }
  return env;
}

/** Variables whose values must never be printed. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([S.kafkaSaslPassword, S.redisPassword, S.qdrantApiKey]);

/** A URL with any password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

type Get = (name: string) => string | undefined;

function reader(env: NodeJS.ProcessEnv): Get {
  return (name) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
}

function refuseWithoutEndpoint(get: Get, endpointSetting: string, dependents: readonly string[], local: string): void {
  const stray = dependents.find((name) => get(name));
  if (stray) {
    throw new ConfigError(
      stray,
      `is set but ${endpointSetting} is not; without ${endpointSetting} searchbus starts a local ${local} that does not use it. Set ${endpointSetting} too, or unset ${stray}`,
    );
  }
}

/** A secret given either inline or as a file (a mounted secret); both at once is a contradiction. */
function secret(get: Get, inline: string, fileSetting: string): Secret | undefined {
  const value = get(inline);
  const file = get(fileSetting);
  if (value && file) throw new ConfigError(fileSetting, `is set together with ${inline}; give one of them`);
  if (value) return { setting: inline, value };
  if (!file) return undefined;
  const content = readSetting(fileSetting, file).replace(/\r?\n$/, '');
  if (content === '') throw new ConfigError(fileSetting, `the file "${file}" is empty`);
  return { setting: fileSetting, value: content };
}

function tlsSettings(get: Get, names: { ca: string; cert: string; key: string }): TlsSettings {
  const tls: TlsSettings = {};
  const ca = get(names.ca);
  const cert = get(names.cert);
  const key = get(names.key);
  if (cert && !key) throw new ConfigError(names.key, `is required with ${names.cert} (the client certificate's private key)`);
  if (key && !cert) throw new ConfigError(names.cert, `is required with ${names.key} (the certificate of that key)`);
  if (ca) {
    tls.ca = pemFile(names.ca, ca);
    certificates(tls.ca);
  }
  if (cert && key) {
    tls.cert = pemFile(names.cert, cert);
    tls.key = pemFile(names.key, key);
    const [leaf] = certificates(tls.cert);
    let privateKey;
    try {
      privateKey = createPrivateKey(tls.key.pem);
    } catch (error) {
      throw new ConfigError(names.key, `"${key}" is not an unencrypted PEM private key (${(error as Error).message})`);
    }
    if (leaf && !leaf.checkPrivateKey(privateKey)) {
      throw new ConfigError(names.key, `the key in "${key}" does not belong to the certificate in ${names.cert} ("${cert}")`);
    }
  }
  return tls;
}

function pemFile(setting: string, file: string): PemFile {
  return { setting, file, pem: readSetting(setting, file) };
}

function readSetting(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(setting, `cannot read "${file}" (${code ?? (error as Error).message})`);
  }
}

/** Every certificate in a PEM bundle; at least one, each parseable. */
function certificates(file: PemFile): X509Certificate[] {
  const blocks = file.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(file.setting, `"${file.file}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new ConfigError(file.setting, `"${file.file}" holds a certificate that cannot be parsed (${(error as Error).message})`);
    }
  });
}

function tlsEnv(tls: TlsSettings | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const file of [tls?.ca, tls?.cert, tls?.key]) if (file) env[file.setting] = file.file;
  return env;
}
