// Runs a command against throwaway secured services, like `searchbus infra run` does with plaintext
// ones: a local broker whose second listener takes SCRAM-SHA-512 over TLS with client certificates,
// redis-server with an ACL user on a TLS port, and Qdrant (QDRANT_URL, or a local engine). The
// command gets the variables a user would set (KAFKA_SECURITY_PROTOCOL=sasl_ssl, REDIS_URL=rediss://…).
// Run: node --import tsx test/bench/secure-services.ts -- node --import tsx test/bench/query-latency.ts
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointEnv, getServices } from '../../infra/index.ts';
import { startKafka, startRedis } from '../../infra/local/index.ts';
import { generateCertificates } from '../support/certificates.ts';

const separator = process.argv.indexOf('--');
const [command, ...args] = separator >= 0 ? process.argv.slice(separator + 1) : [];
if (!command) throw new Error('usage: secure-services.ts -- <command…>');

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const dir = await mkdtemp(join(tmpdir(), 'searchbus-secure-bench-'));
const certs = await generateCertificates(dir);
const kafkaUser = { username: 'searchbus', password: randomBytes(12).toString('hex') };
const redisUser = { username: 'searchbus', password: randomBytes(12).toString('hex') };
await writeFile(join(dir, 'kafka-password'), kafkaUser.password, { mode: 0o600 });
const [kafka, redis, qdrant] = await Promise.all([
  startKafka({
    profile: 'test',
    env: {},
    log,
    secure: { keystoreFile: certs.serverKeystoreFile, clientCaFile: certs.caFile, users: [kafkaUser] },
  }),
  startRedis({
    profile: 'test',
    env: {},
    log,
    secure: {
      certFile: certs.serverCertFile,
      keyFile: certs.serverKeyFile,
      caFile: certs.caFile,
      authClients: 'optional',
      user: redisUser,
    },
  }),
  getServices({ need: ['qdrant'], log }),
]);
const env = {
  ...endpointEnv({ redis: redis.endpoint, qdrant: qdrant.qdrant }),
  KAFKA_BROKERS: kafka.secureBrokers!.join(','),
  KAFKA_SECURITY_PROTOCOL: 'sasl_ssl',
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: kafkaUser.username,
  KAFKA_SASL_PASSWORD_FILE: join(dir, 'kafka-password'),
  KAFKA_SSL_CA_FILE: certs.caFile,
  KAFKA_SSL_CERT_FILE: certs.clientCertFile,
  KAFKA_SSL_KEY_FILE: certs.clientKeyFile,
};
log(`secured services: KAFKA_BROKERS=${env.KAFKA_BROKERS} (sasl_ssl, scram-sha-512, mTLS) REDIS_URL=${redis.endpoint.url} (ACL user, TLS)`);
try {
  process.exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
} finally {
  await Promise.allSettled([kafka.close(), redis.close(), qdrant.close()]);
  await rm(dir, { recursive: true, force: true });
}
