import { ConfigError, UnavailableError } from '../topology/errors.ts';

// What goes wrong setting up services (a program missing, a registry or an endpoint that does not
// answer, a port taken), as the topology's error kinds with a code each. The messages say what to
// install, set or free, because they are the first thing a new user sees.

/** A program the local provider needs is not installed (Java, Python, Maven, redis-server): `missing-prerequisite`. */
export function missingPrerequisite(program: string, howToInstall: string, cause?: unknown): UnavailableError {
  return new UnavailableError(
    'missing-prerequisite',
    `${program} is required to run searchbus services locally but was not found. ${howToInstall}`,
    { cause, retriable: false },
  );
}

/** A package registry (Maven Central, PyPI, Debian, npm) could not be reached or refused a download: `registry-unreachable`, retriable. */
export function registryUnreachable(registry: string, what: string, output: string): UnavailableError {
  return new UnavailableError(
    'registry-unreachable',
    `Could not download ${what} from ${registry}. Check network access to ${registry}.\n${tail(output, 15)}`,
  );
}

/** An endpoint given in the environment does not answer: `endpoint-unreachable`, retriable. */
export function endpointUnreachable(setting: string, endpoint: string, cause?: unknown): UnavailableError {
  return new UnavailableError(
    'endpoint-unreachable',
    `${setting}=${endpoint} is configured but does not answer: ${describeCause(cause)}. Fix or unset ${setting} (unset, searchbus starts a local service).`,
    { cause },
  );
}

/**
 * An endpoint answered but refused the connection as configured: a wrong password, a certificate it
 * does not trust or that is not trusted here, a protocol that does not match its listener. A
 * ConfigError `endpoint-rejected` naming the setting to fix; never carries a secret, never retried.
 */
export function endpointRejected(setting: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError(setting, message, { code: 'endpoint-rejected', cause });
}

/** A service process exited or never became ready: `service-start-failed`. */
export function serviceStartFailed(service: string, message: string, logFile?: string, cause?: unknown): UnavailableError {
  return new UnavailableError('service-start-failed', `${service} did not start: ${message}${logFile ? ` (log: ${logFile})` : ''}`, {
    cause,
    retriable: false,
  });
}

/** A port a service must listen on is already in use: a ConfigError `port-in-use` naming the port's setting. */
export function portInUse(port: number, service: string, setting: string): ConfigError {
  return new ConfigError(
    setting,
    `port ${port} for ${service} is already in use. Stop whatever listens there (\`searchbus infra status\` lists ours) or choose another port with ${setting}.`,
    { code: 'port-in-use' },
  );
}

/** The last `lines` lines of a program's output. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}
