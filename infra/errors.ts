import { SearchbusError } from '../topology/index.ts';

// Infra errors say what to install, set or free, because they are the first thing a new user sees.
export class InfraError extends SearchbusError {
  override readonly name: string = 'InfraError';

  constructor(message: string, options: { retriable?: boolean; cause?: unknown; code?: string } = {}) {
    super(message, { code: 'infra-failure', ...options });
  }
}

/** A program the local provider needs is not installed (Java, Python, Maven, redis-server). */
export class MissingPrerequisiteError extends InfraError {
  override readonly name: string = 'MissingPrerequisiteError';
  constructor(
    readonly program: string,
    readonly howToInstall: string,
    cause?: unknown,
  ) {
    super(`${program} is required to run searchbus services locally but was not found. ${howToInstall}`, { cause, code: 'missing-prerequisite' });
  }
}

/** A port a service must listen on is already in use. */
export class PortInUseError extends InfraError {
  override readonly name: string = 'PortInUseError';
  constructor(
    readonly port: number,
    readonly service: string,
    readonly setting: string,
  ) {
    super(
      `Port ${port} for ${service} is already in use. Stop whatever listens there (\`searchbus infra status\` lists ours) or choose another port with ${setting}.`,
      { code: 'port-in-use' },
    );
  }
}

/** A package registry (Maven Central, PyPI, Debian) could not be reached or refused a download. */
export class RegistryUnreachableError extends InfraError {
  override readonly name: string = 'RegistryUnreachableError';
  constructor(
    readonly registry: string,
    what: string,
    output: string,
  ) {
    super(`Could not download ${what} from ${registry}. Check network access to ${registry}.\n${tail(output, 15)}`, {
      retriable: true,
      code: 'registry-unreachable',
    });
  }
}

/** An endpoint given in the environment does not answer. */
export class EndpointUnreachableError extends InfraError {
  override readonly name: string = 'EndpointUnreachableError';
  constructor(
    readonly setting: string,
    readonly endpoint: string,
    cause?: unknown,
  ) {
    super(
      `${setting}=${endpoint} is configured but does not answer: ${describeCause(cause)}. Fix or unset ${setting} (unset, searchbus starts a local service).`,
      { retriable: true, cause, code: 'endpoint-unreachable' },
    );
  }
}

/** A service process exited or never became ready. */
export class ServiceStartError extends InfraError {
  override readonly name: string = 'ServiceStartError';
  constructor(
    readonly service: string,
    message: string,
    readonly logFile?: string,
    cause?: unknown,
  ) {
    super(`${service} did not start: ${message}${logFile ? ` (log: ${logFile})` : ''}`, { cause, code: 'service-start-failed' });
  }
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/**
 * An endpoint answered but refused the connection as configured: a wrong password, a certificate it
 * does not trust or that is not trusted here, a protocol that does not match its listener. Names the
 * setting to fix; never carries a secret. Not retriable: the same settings fail the same way.
 */
export class EndpointRejectedError extends InfraError {
  override readonly name: string = 'EndpointRejectedError';
  constructor(
    readonly setting: string,
    message: string,
    cause?: unknown,
  ) {
    super(`${setting}: ${message}`, { retriable: false, cause, code: 'endpoint-rejected' });
  }
}

/**
 * An optional package is not installed. testcontainers is a dev dependency: an installed searchbus
 * runs local services or the endpoints it is given, and only a clone's test runs start containers.
 */
export class OptionalDependencyMissingError extends InfraError {
  override readonly name: string = 'OptionalDependencyMissingError';
  constructor(
    readonly dependency: string,
    readonly neededFor: string,
    cause?: unknown,
  ) {
    super(`${neededFor} needs the npm package "${dependency}", which is not installed (it is a dev dependency). Install it with \`npm install --save-dev ${dependency}\`, or unset SEARCHBUS_PROVIDER to use local services.`, {
      cause,
      code: 'optional-dependency-missing',
    });
  }
}
