// A second listener for the local broker, SASL over TLS, so tests can reach Kafka the way a managed
// cluster is reached. The plaintext listener stays (inter-broker traffic and every other test use
// it); this one only adds to the broker's properties and to its storage format command.

export interface KafkaSecureListenerOptions {
  /** PEM file holding the broker's private key (PKCS#8, unencrypted) followed by its certificate chain. */
  keystoreFile: string;
  /** PEM CA that must have signed client certificates; given, clients must present one (mTLS). */
  clientCaFile?: string;
  /**
   * Users accepted on the listener: SCRAM-SHA-256 and SCRAM-SHA-512 credentials are written into the
   * cluster metadata at format time (`kafka-storage format --add-scram`), PLAIN ones into the JAAS
   * configuration. Names and passwords: letters, digits, `_` and `-` (they go into both formats unquoted).
   */
  users: ReadonlyArray<{ username: string; password: string }>;
}

export const SECURE_LISTENER_NAME = 'SASL_SSL_TEST';
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

export function secureListener(port: number): string {
  return `${SECURE_LISTENER_NAME}://127.0.0.1:${port}`;
}

/** Lines for server.properties; the listener itself is added to `listeners` and the protocol map by the caller. */
export function secureListenerProperties(options: KafkaSecureListenerOptions): string[] {
  for (const { username, password } of options.users) {
    if (!/^[\w-]+$/.test(username) || !/^[\w-]+$/.test(password)) {
      throw new Error(`secure listener users need names and passwords of letters, digits, _ and -, got user "${username}"`);
    }
  }
  const prefix = `listener.name.${SECURE_LISTENER_NAME.toLowerCase()}`;
  const plainUsers = options.users.map((u) => `user_${u.username}="${u.password}"`).join(' ');
  return [
    `${prefix}.sasl.enabled.mechanisms=${MECHANISMS.join(',')}`,
    `${prefix}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
    `${prefix}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
    `${prefix}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
    `${prefix}.ssl.keystore.type=PEM`,
    `${prefix}.ssl.keystore.location=${options.keystoreFile}`,
    ...(options.clientCaFile
      ? [
          `${prefix}.ssl.truststore.type=PEM`,
          `${prefix}.ssl.truststore.location=${options.clientCaFile}`,
          `${prefix}.ssl.client.auth=required`,
        ]
      : [`${prefix}.ssl.client.auth=none`]),
  ];
}

/** `--add-scram` arguments for `kafka-storage format`: each user under both SCRAM mechanisms. */
export function scramFormatArgs(options: KafkaSecureListenerOptions): string[] {
  return options.users.flatMap(({ username, password }) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${username},password=${password}]`]),
  );
}
