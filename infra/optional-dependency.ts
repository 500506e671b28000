import { OptionalDependencyMissingError } from './errors.ts';

/**
 * A package loaded only when a feature needs it (testcontainers, a dev dependency). When it is not
 * installed the caller gets an OptionalDependencyMissingError naming the package and the feature,
 * instead of Node's bare ERR_MODULE_NOT_FOUND.
 */
export async function importOptional<T>(dependency: string, neededFor: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') {
      throw new OptionalDependencyMissingError(dependency, neededFor, error);
    }
    throw error;
  }
}
