import { UnavailableError } from '../topology/errors.ts';

/**
 * A package loaded only when a feature needs it (testcontainers, a dev dependency). When it is not
 * installed the caller gets an UnavailableError `optional-dependency-missing` naming the package and
 * the feature, instead of Node's bare ERR_MODULE_NOT_FOUND.
 */
export async function importOptional<T>(dependency: string, neededFor: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') {
      throw new UnavailableError(
        'optional-dependency-missing',
        `${neededFor} needs the npm package "${dependency}", which is not installed (it is a dev dependency). Install it with \`npm install --save-dev ${dependency}\`, or unset SEARCHBUS_PROVIDER to use local services.`,
        { cause: error, retriable: false },
      );
    }
    throw error;
  }
}
