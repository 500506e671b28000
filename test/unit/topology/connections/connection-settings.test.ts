import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { endpointEnv, kafkaSettings, qdrantSettings, redactUrl, redisSettings } from '../../../../infra/index.ts';
import { ConfigError } from '../../../../topology/index.ts';
import { generateCertificates, type TestCertificates } from '../../../support/certificates.ts';

let dir: string;
let certs: TestCertificates;
let passwordFile: string;
let emptyFile: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'searchbus-settings-'));
  certs = await generateCertificates(dir);
  passwordFile = join(dir, 'kafka-password');
  await writeFile(passwordFile, 's3cret-from-file\n');
  emptyFile = join(dir, 'empty');
  await writeFile(emptyFile, '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SECRET = 'hunter2-do-not-print';

function saslSsl(extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: 'b-1.example:9096,b-2.example:9096',
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: 'searchbus',
    KAFKA_SASL_PASSWORD: SECRET,
    ...extra,
  };
}

/** Fails naming `setting`, and the message never holds the secret. */
function refuses(parse: () => unknown, setting: string, pattern?: RegExp): void {
  assert.throws(parse, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.setting, setting, error.message);
    assert.ok(error.message.startsWith(`${setting}: `), error.message);
    assert.ok(!error.message.includes(SECRET), `the message prints the secret: ${error.message}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

describe('Kafka settings', () => {
  it('are absent without KAFKA_BROKERS, and plaintext by default', () => {
    assert.equal(kafkaSettings({}), null);
    assert.deepEqual(kafkaSettings({ KAFKA_BROKERS: ' k1:9092 , k2:9092 ' }), { brokers: ['k1:9092', 'k2:9092'] });
    assert.deepEqual(kafkaSettings({ KAFKA_BROKERS: 'k1:9092', KAFKA_SECURITY_PROTOCOL: 'plaintext' }), { brokers: ['k1:9092'] });
  });

  it('read SASL over TLS with a CA and a client certificate, in any case', () => {
    const endpoint = kafkaSettings(
      saslSsl({
        KAFKA_SASL_PASSWORD: '',
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
        KAFKA_SSL_CA_FILE: certs.caFile,
        KAFKA_SSL_CERT_FILE: certs.clientCertFile,
        KAFKA_SSL_KEY_FILE: certs.clientKeyFile,
      }),
    );
    assert.ok(endpoint?.sasl && endpoint.tls);
    assert.deepEqual(endpoint.brokers, ['b-1.example:9096', 'b-2.example:9096']);
    assert.equal(endpoint.sasl.mechanism, 'scram-sha-512');
    assert.equal(endpoint.sasl.username, 'searchbus');
    assert.deepEqual(endpoint.sasl.password, { setting: 'KAFKA_SASL_PASSWORD_FILE', value: 's3cret-from-file' });
    assert.equal(endpoint.tls.ca?.file, certs.caFile);
    assert.match(endpoint.tls.ca?.pem ?? '', /BEGIN CERTIFICATE/);
    assert.equal(endpoint.tls.cert?.setting, 'KAFKA_SSL_CERT_FILE');
    assert.equal(endpoint.tls.key?.setting, 'KAFKA_SSL_KEY_FILE');
  });

  it('accept every protocol and mechanism', () => {
    assert.deepEqual(kafkaSettings({ KAFKA_BROKERS: 'k:9093', KAFKA_SECURITY_PROTOCOL: 'ssl' }), { brokers: ['k:9093'], tls: {} });
    const plain = kafkaSettings(saslSsl({ KAFKA_SECURITY_PROTOCOL: 'sasl_plaintext', KAFKA_SASL_MECHANISM: 'plain' }));
    assert.equal(plain?.tls, undefined);
    assert.equal(plain?.sasl?.mechanism, 'plain');
    assert.equal(kafkaSettings(saslSsl({ KAFKA_SASL_MECHANISM: 'scram-sha-256' }))?.sasl?.mechanism, 'scram-sha-256');
  });

  it('refuse contradictory or incomplete settings, naming the setting', () => {
    refuses(() => kafkaSettings({ KAFKA_SASL_MECHANISM: 'plain' }), 'KAFKA_SASL_MECHANISM', /KAFKA_BROKERS/);
    refuses(() => kafkaSettings({ KAFKA_SSL_CA_FILE: certs.caFile }), 'KAFKA_SSL_CA_FILE', /KAFKA_BROKERS/);
    refuses(() => kafkaSettings({ KAFKA_BROKERS: 'k:9092 k2:9092' }), 'KAFKA_BROKERS');
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SECURITY_PROTOCOL: 'tls' })),
      'KAFKA_SECURITY_PROTOCOL',
      /plaintext, ssl, sasl_plaintext, sasl_ssl/,
    );
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SECURITY_PROTOCOL: '' })), 'KAFKA_SECURITY_PROTOCOL', /the default.*KAFKA_SASL_MECHANISM/);
    refuses(
      () => kafkaSettings({ KAFKA_BROKERS: 'k:9092', KAFKA_SECURITY_PROTOCOL: 'ssl', KAFKA_SASL_PASSWORD: SECRET }),
      'KAFKA_SECURITY_PROTOCOL',
      /KAFKA_SASL_PASSWORD/,
    );
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SECURITY_PROTOCOL: 'sasl_plaintext', KAFKA_SSL_CA_FILE: certs.caFile })),
      'KAFKA_SECURITY_PROTOCOL',
      /does not use TLS/,
    );
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SASL_MECHANISM: '' })), 'KAFKA_SASL_MECHANISM', /required/);
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SASL_MECHANISM: 'GSSAPI' })),
      'KAFKA_SASL_MECHANISM',
      /plain, scram-sha-256, scram-sha-512/,
    );
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SASL_USERNAME: ' ' })), 'KAFKA_SASL_USERNAME');
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SASL_PASSWORD: '' })), 'KAFKA_SASL_PASSWORD', /KAFKA_SASL_PASSWORD_FILE/);
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SASL_PASSWORD_FILE: passwordFile })), 'KAFKA_SASL_PASSWORD_FILE', /one of them/);
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SASL_PASSWORD: '', KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing') })),
      'KAFKA_SASL_PASSWORD_FILE',
      /ENOENT/,
    );
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SASL_PASSWORD: '', KAFKA_SASL_PASSWORD_FILE: emptyFile })),
      'KAFKA_SASL_PASSWORD_FILE',
      /empty/,
    );
  });

  it('refuse TLS files that cannot be used, naming the setting', () => {
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SSL_CA_FILE: join(dir, 'no-such-ca.pem') })), 'KAFKA_SSL_CA_FILE', /cannot read .*ENOENT/);
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SSL_CA_FILE: dir })), 'KAFKA_SSL_CA_FILE', /cannot read/);
    refuses(() => kafkaSettings(saslSsl({ KAFKA_SSL_CA_FILE: certs.clientKeyFile })), 'KAFKA_SSL_CA_FILE', /no PEM certificate/);
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SSL_CERT_FILE: certs.clientCertFile })),
      'KAFKA_SSL_KEY_FILE',
      /required with KAFKA_SSL_CERT_FILE/,
    );
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SSL_KEY_FILE: certs.clientKeyFile })),
      'KAFKA_SSL_CERT_FILE',
      /required with KAFKA_SSL_KEY_FILE/,
    );
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SSL_CERT_FILE: certs.clientCertFile, KAFKA_SSL_KEY_FILE: certs.serverKeyFile })),
      'KAFKA_SSL_KEY_FILE',
      /does not belong/,
    );
    refuses(
      () => kafkaSettings(saslSsl({ KAFKA_SSL_CERT_FILE: certs.clientCertFile, KAFKA_SSL_KEY_FILE: certs.caFile })),
      'KAFKA_SSL_KEY_FILE',
      /not an unencrypted PEM private key/,
    );
  });

  it('give a child process the same endpoint', () => {
    const env = saslSsl({
      KAFKA_SASL_PASSWORD: '',
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
      KAFKA_SSL_CA_FILE: certs.caFile,
      KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      KAFKA_SSL_KEY_FILE: certs.clientKeyFile,
    });
    const endpoint = kafkaSettings(env);
    assert.ok(endpoint);
    const again = kafkaSettings(endpointEnv({ kafka: endpoint }));
    assert.deepEqual(again, {
      ...endpoint,
      sasl: { ...endpoint.sasl, password: { setting: 'KAFKA_SASL_PASSWORD', value: 's3cret-from-file' } },
    });
  });
});

describe('Redis settings', () => {
  it('take credentials out of the URL', () => {
    assert.equal(redisSettings({}), null);
    assert.deepEqual(redisSettings({ REDIS_URL: 'redis://127.0.0.1:6379' }), { url: 'redis://127.0.0.1:6379' });
    const endpoint = redisSettings({
      REDIS_URL: `rediss://searchbus:${encodeURIComponent('p@ss:w/rd')}@redis.example:6380/2`,
      REDIS_TLS_CA_FILE: certs.caFile,
    });
    assert.ok(endpoint?.tls?.ca);
    assert.equal(endpoint.url, 'rediss://redis.example:6380/2');
    assert.equal(endpoint.username, 'searchbus');
    assert.deepEqual(endpoint.password, { setting: 'REDIS_URL', value: 'p@ss:w/rd' });
    assert.deepEqual(redisSettings({ REDIS_URL: 'rediss://:only-a-password@r:6380' }), {
      url: 'rediss://r:6380',
      password: { setting: 'REDIS_URL', value: 'only-a-password' },
      tls: {},
    });
  });

  it('read an ACL user, a password file and a client certificate', () => {
    const endpoint = redisSettings({
      REDIS_URL: 'rediss://redis.example:6380',
      REDIS_USERNAME: 'searchbus',
      REDIS_PASSWORD_FILE: passwordFile,
      REDIS_TLS_CA_FILE: certs.caFile,
      REDIS_TLS_CERT_FILE: certs.clientCertFile,
      REDIS_TLS_KEY_FILE: certs.clientKeyFile,
    });
    assert.ok(endpoint);
    assert.equal(endpoint.username, 'searchbus');
    assert.deepEqual(endpoint.password, { setting: 'REDIS_PASSWORD_FILE', value: 's3cret-from-file' });
    assert.equal(endpoint.tls?.cert?.file, certs.clientCertFile);
    assert.deepEqual(redisSettings(endpointEnv({ redis: endpoint })), {
      ...endpoint,
      password: { setting: 'REDIS_PASSWORD', value: 's3cret-from-file' },
    });
  });

  it('refuse contradictory or incomplete settings, naming the setting', () => {
    refuses(() => redisSettings({ REDIS_PASSWORD: SECRET }), 'REDIS_PASSWORD', /REDIS_URL/);
    refuses(() => redisSettings({ REDIS_URL: 'http://r:6379' }), 'REDIS_URL', /redis:\/\/ or rediss:\/\//);
    refuses(() => redisSettings({ REDIS_URL: 'not a url' }), 'REDIS_URL');
    refuses(() => redisSettings({ REDIS_URL: `redis://u:${SECRET}@r:6379/x` }), 'REDIS_URL', /database number/);
    refuses(
      () => redisSettings({ REDIS_URL: `redis://u:${SECRET}@r:6379`, REDIS_PASSWORD: SECRET }),
      'REDIS_PASSWORD',
      /already holds credentials/,
    );
    refuses(() => redisSettings({ REDIS_URL: 'redis://u@r:6379' }), 'REDIS_URL', /without a password/);
    refuses(() => redisSettings({ REDIS_URL: 'redis://r:6379', REDIS_USERNAME: 'u' }), 'REDIS_PASSWORD', /required with REDIS_USERNAME/);
    refuses(() => redisSettings({ REDIS_URL: 'redis://r:6379', REDIS_TLS_CA_FILE: certs.caFile }), 'REDIS_TLS_CA_FILE', /rediss:\/\//);
    refuses(
      () => redisSettings({ REDIS_URL: 'rediss://r:6379', REDIS_TLS_CA_FILE: join(dir, 'nope.pem') }),
      'REDIS_TLS_CA_FILE',
      /cannot read/,
    );
    refuses(() => redisSettings({ REDIS_URL: 'rediss://r:6379', REDIS_TLS_KEY_FILE: certs.clientKeyFile }), 'REDIS_TLS_CERT_FILE');
  });
});

describe('Qdrant settings', () => {
  it('read the URL and API key, and refuse a key without a URL', () => {
    assert.equal(qdrantSettings({}), null);
    assert.deepEqual(qdrantSettings({ QDRANT_URL: 'https://q.example:6333', QDRANT_API_KEY: SECRET }), {
      url: 'https://q.example:6333',
      apiKey: SECRET,
    });
    refuses(() => qdrantSettings({ QDRANT_API_KEY: SECRET }), 'QDRANT_API_KEY', /QDRANT_URL/);
    refuses(() => qdrantSettings({ QDRANT_URL: 'grpc://q:6334' }), 'QDRANT_URL');
  });
});

describe('redactUrl', () => {
  it('hides the password of a URL', () => {
    assert.equal(redactUrl('rediss://user:pa%40ss@r:6380/0'), 'rediss://user:***@r:6380/0');
    assert.equal(redactUrl('redis://:pw@r:6379'), 'redis://:***@r:6379');
    assert.equal(redactUrl('redis://r:6379'), 'redis://r:6379');
  });
});
