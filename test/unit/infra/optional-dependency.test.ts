import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnavailableError } from '../../../topology/index.ts';
import { importOptional } from '../../../infra/optional-dependency.ts';

describe('importOptional', () => {
  it('returns the module when it is installed', async () => {
    const path = await importOptional('node:path', 'a test', () => import('node:path'));
    assert.equal(typeof path.join, 'function');
  });

  it('turns a package that is not installed into a typed error naming it and the feature', async () => {
    const missing = 'searchbus-package-that-does-not-exist';
    await assert.rejects(
      importOptional(missing, 'Starting services in containers', () => import(missing)),
      (error: unknown) => {
        assert.ok(error instanceof UnavailableError);
        assert.equal(error.code, 'optional-dependency-missing');
        assert.equal(error.retriable, false);
        assert.match(error.message, /Starting services in containers needs the npm package "searchbus-package-that-does-not-exist"/);
        assert.equal((error.cause as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
        return true;
      },
    );
  });

  it('lets any other failure of the module through unchanged', async () => {
    const broken = new SyntaxError('Unexpected token');
    await assert.rejects(
      importOptional('x', 'a test', () => Promise.reject(broken)),
      (error: unknown) => error === broken,
    );
  });
});
