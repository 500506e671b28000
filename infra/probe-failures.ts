import { CONNECTION_SETTINGS as S, KAFKA_SECURITY_PROTOCOLS } from '../topology/index.ts';
import { hasErrorCode, type ConfigError, type UnavailableError } from '../topology/errors.ts';
import { isRedisReplyError } from './probes.ts';
import { endpointRejected, endpointUnreachable } from './setup-failures.ts';
import type { KafkaEndpoint, RedisEndpoint, TlsSettings } from './services.ts';

// A failed start-up probe, turned into the error a user can act on: which variable to fix and why.
// An endpoint that does not answer at all is an UnavailableError `endpoint-unreachable` naming its
// address variable; one that answers but refuses what is configured is a ConfigError
// `endpoint-rejected` naming the credential, certificate or protocol variable. Secrets never appear: only user names and files.

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/** TLS alerts a server sends when it refuses (or wants) the client's certificate. */
const CLIENT_CERT_REFUSED =
  /ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|ACCESS_DENIED)/;
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|before secure TLS connection was established/;

export function kafkaProbeFailure(error: unknown, endpoint: KafkaEndpoint): ConfigError | UnavailableError {
  const chain = errorChain(error);
  const where = endpoint.brokers.join(',');
  const protocol = `${endpoint.sasl ? 'sasl_' : ''}${endpoint.tls ? 'ssl' : 'plaintext'}`;

  const sasl = chain.find((e) => e.name === 'KafkaJSSASLAuthenticationError');
  if (sasl && endpoint.sasl) {
    const mechanism = endpoint.sasl.mechanism.toUpperCase();
    if (/not supported by the server/i.test(sasl.message)) {
      return endpointRejected(S.kafkaSaslMechanism, `the broker at ${where} does not enable ${mechanism} on this listener`, error);
    }
    return endpointRejected(
      endpoint.sasl.password.setting,
      `authentication failed for user '${endpoint.sasl.username}' (${mechanism}) at ${where}; check ${S.kafkaSaslUsername} and ${endpoint.sasl.password.setting} (${stripPrefix(sasl.message)})`,
      error,
    );
  }
  const tls = tlsFailure(chain, {
    service: 'broker',
    where,
    tls: endpoint.tls,
    ca: S.kafkaSslCaFile,
    cert: S.kafkaSslCertFile,
    address: S.kafkaBrokers,
  });
  if (tls) return tls;
  if (chain.some((e) => (e as { type?: string }).type === 'ILLEGAL_SASL_STATE')) {
    return endpointRejected(
      S.kafkaSecurityProtocol,
      `is ${protocol}, but the listener at ${where} does not use SASL; use ${endpoint.tls ? 'ssl' : 'plaintext'}`,
      error,
    );
  }
  if (chain.some((e) => e.name === 'KafkaJSConnectionClosedError')) {
    const others = KAFKA_SECURITY_PROTOCOLS.filter((p) => p !== protocol).join(', ');
    return endpointRejected(
      S.kafkaSecurityProtocol,
      `is ${protocol}, and the broker at ${where} closed the connection during the handshake: its listener probably uses another protocol (${others})`,
      error,
    );
  }
  return endpointUnreachable(S.kafkaBrokers, where, error);
}

export function redisProbeFailure(error: unknown, endpoint: RedisEndpoint): ConfigError | UnavailableError {
  const where = endpoint.url;
  if (isRedisReplyError(error)) {
    const { code } = error;
    const user = endpoint.username ?? 'default';
    const passwordSetting = endpoint.password?.setting ?? S.redisPassword;
    if (code === 'redis-wrongpass') {
      return endpointRejected(
        passwordSetting,
        `authentication failed for user '${user}' at ${where}; check ${passwordSetting === S.redisUrl ? 'the user and password in REDIS_URL' : `${S.redisUsername} and ${passwordSetting}`} (${error.message})`,
        error,
      );
    }
    if (code === 'redis-noauth') {
      return endpointRejected(
        S.redisPassword,
        `the server at ${where} requires a password: set ${S.redisUsername} and ${S.redisPassword} (or ${S.redisPasswordFile}), or put them in REDIS_URL (rediss://user:password@host:port)`,
        error,
      );
    }
    if (code === 'redis-auth-refused') {
      return endpointRejected(passwordSetting, `the server at ${where} refused AUTH for user '${user}': ${error.message}`, error);
    }
    if (code === 'redis-noperm') {
      return endpointRejected(S.redisUsername, `user '${user}' lacks permissions on ${where}: ${error.message}`, error);
    }
    return endpointUnreachable(S.redisUrl, where, error);
  }
  const chain = errorChain(error);
  const tls = tlsFailure(chain, {
    service: 'server',
    where,
    tls: endpoint.tls,
    ca: S.redisTlsCaFile,
    cert: S.redisTlsCertFile,
    address: S.redisUrl,
  });
  if (tls) return tls;
  const reset = chain.some((e) => (e as NodeJS.ErrnoException).code === 'ECONNRESET');
  if (hasErrorCode(error, 'connection-closed') || (reset && !endpoint.tls)) {
    return endpointRejected(
      S.redisUrl,
      endpoint.tls
        ? `the server at ${where} closed the TLS connection before answering: does it require a client certificate (${S.redisTlsCertFile}, ${S.redisTlsKeyFile})?`
        : `the server at ${where} closed the connection before answering: if that port expects TLS, use rediss:// (and REDIS_TLS_CA_FILE)`,
      error,
    );
  }
  return endpointUnreachable(S.redisUrl, where, error);
}

/** A TLS-level refusal of either side's certificate, or TLS spoken to a port that does not speak it. */
function tlsFailure(
  chain: Error[],
  names: { service: string; where: string; tls: TlsSettings | undefined; ca: string; cert: string; address: string },
): ConfigError | undefined {
  if (!names.tls) return undefined;
  const coded = chain.map((e) => ({ error: e, code: errorCode(e) }));
  const cause = chain[0];
  const hit = (test: (code: string, message: string) => boolean): boolean => coded.some(({ error, code }) => test(code, error.message));
  const trustedBy = names.tls.ca
    ? `the CA in ${names.ca} ("${names.tls.ca.file}")`
    : `Node's built-in CA certificates; set ${names.ca} to the CA that signed it`;
  const found = coded.find(({ code }) => UNTRUSTED.has(code) || EXPIRED.has(code));
  if (found && UNTRUSTED.has(found.code)) {
    return endpointRejected(
      names.ca,
      `the ${names.service}'s certificate at ${names.where} is not trusted by ${trustedBy} (${found.code})`,
      cause,
    );
  }
  if (found) {
    return endpointRejected(
      names.ca,
      `the ${names.service}'s certificate at ${names.where} is outside its validity period (${found.code})`,
      cause,
    );
  }
  if (hit((code) => code === 'ERR_TLS_CERT_ALTNAME_INVALID')) {
    const detail = coded.find(({ code }) => code === 'ERR_TLS_CERT_ALTNAME_INVALID')?.error.message ?? '';
    return endpointRejected(
      names.address,
      `the ${names.service}'s certificate does not name the host in ${names.address} (${names.where}): ${stripPrefix(detail)}`,
      cause,
    );
  }
  if (hit((code, message) => CLIENT_CERT_REFUSED.test(code) || /alert (bad certificate|certificate required|unknown ca)/i.test(message))) {
    return endpointRejected(
      names.cert,
      names.tls.cert
        ? `the ${names.service} at ${names.where} refused the client certificate in "${names.tls.cert.file}" (is it signed by a CA the ${names.service} trusts?)`
        : `the ${names.service} at ${names.where} requires a client certificate (mutual TLS): set ${names.cert} and its key`,
      cause,
    );
  }
  if (hit((code, message) => NOT_TLS.test(code) || NOT_TLS.test(message))) {
    return endpointRejected(
      names.address,
      `the ${names.service} at ${names.where} does not speak TLS on that port, but TLS is configured`,
      cause,
    );
  }
  return undefined;
}

/** The error, its causes, and kafkajs' `originalError`, outermost first. */
function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  let current: unknown = error;
  while (current instanceof Error && !chain.includes(current) && chain.length < 10) {
    chain.push(current);
    const withOriginal = current as Error & { originalError?: unknown };
    current = current.cause ?? withOriginal.originalError;
  }
  return chain;
}

function stripPrefix(message: string): string {
  return message.replace(/^(Connection error: )/, '').trim();
}

/** A Node error code (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ECONNRESET`), or ''. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}
