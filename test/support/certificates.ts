import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Throwaway PKI for tests of TLS connections, made with the machine's openssl: a CA, a server
// certificate for 127.0.0.1 and localhost, a client certificate signed by the same CA (mTLS), and a
// second CA that signed nothing here (an "untrusted" CA for negative tests).

export interface TestCertificates {
  dir: string;
  caFile: string;
  /** The server's certificate and key. */
  serverCertFile: string;
  serverKeyFile: string;
  /** Key then certificate in one PEM file: Kafka's PEM keystore format. */
  serverKeystoreFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed none of the above. */
  otherCaFile: string;
}

export async function generateCertificates(dir: string): Promise<TestCertificates> {
  const path = (name: string): string => join(dir, name);
  await makeCa(path('ca'), 'searchbus test CA');
  await makeCa(path('other-ca'), 'searchbus untrusted CA');
  await makeLeaf(dir, 'server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await makeLeaf(dir, 'client', 'searchbus-test-client', 'extendedKeyUsage=clientAuth\n');
  const keystore = `${await readFile(path('server.key'), 'utf8')}${await readFile(path('server.pem'), 'utf8')}`;
  await writeFile(path('server-keystore.pem'), keystore, { mode: 0o600 });
  return {
    dir,
    caFile: path('ca.pem'),
    serverCertFile: path('server.pem'),
    serverKeyFile: path('server.key'),
    serverKeystoreFile: path('server-keystore.pem'),
    clientCertFile: path('client.pem'),
    clientKeyFile: path('client.key'),
    otherCaFile: path('other-ca.pem'),
  };
}

async function makeCa(base: string, name: string): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '2',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.pem`,
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A key (PKCS#8, unencrypted) and a certificate signed by `ca`. */
async function makeLeaf(dir: string, name: string, commonName: string, extensions: string): Promise<void> {
  const base = join(dir, name);
  const extFile = `${base}.ext`;
  await writeFile(extFile, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n${extensions}`);
  await run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.csr`,
    '-subj',
    `/CN=${commonName}`,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-sha256',
    '-days',
    '2',
    '-in',
    `${base}.csr`,
    '-CA',
    join(dir, 'ca.pem'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    `${base}.pem`,
    '-extfile',
    extFile,
  ]);
}
