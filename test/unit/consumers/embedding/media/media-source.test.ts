import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { readMedia, type MediaSourceLimits } from '../../../../../consumers/embedding/media/media-source.ts';
import { ContractError, loadConfig } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

describe('file:// media are read only under SEARCHBUS_MEDIA_FILE_ROOTS', () => {
  let base: string;
  let root: string;
  let outside: string;
  let limits: MediaSourceLimits;
  const uri = (path: string): { type: string; uri: string } => ({ type: 'image/png', uri: pathToFileURL(path).href });

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'media-source-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    await mkdir(join(root, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'sub', 'inside.png'), 'inside');
    await writeFile(join(outside, 'secret.png'), 'secret');
    await symlink(join(outside, 'secret.png'), join(root, 'link-out.png'));
    await symlink(join(outside), join(root, 'dir-out'));
    limits = { fetchMaxBytes: 1024, fetchTimeoutMs: 1000, fileRoots: [root] };
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('reads a file inside a root', async () => {
    assert.equal((await readMedia(uri(join(root, 'sub', 'inside.png')), limits)).toString(), 'inside');
  });

  it('refuses a file outside every root, and escapes through .. and symlinks', async () => {
    for (const path of [
      join(outside, 'secret.png'),
      `${root}/../outside/secret.png`,
      join(root, 'link-out.png'),
      join(root, 'dir-out', 'secret.png'),
    ]) {
      await assert.rejects(readMedia(uri(path), limits), errorOf(ContractError, 'media-forbidden', /SEARCHBUS_MEDIA_FILE_ROOTS/), path);
    }
  });

  it('does not tell a missing file outside the roots from an existing one', async () => {
    await assert.rejects(readMedia(uri(join(outside, 'absent.png')), limits), errorOf(ContractError, 'media-forbidden'));
    await assert.rejects(readMedia(uri(join(root, 'absent.png')), limits), errorOf(ContractError, 'media-unreachable'));
  });

  it('refuses every file when no root is configured', async () => {
    await assert.rejects(readMedia(uri(join(root, 'sub', 'inside.png')), { ...limits, fileRoots: [] }), /no directory is allowed/);
  });

  it('still applies the size limit inside a root', async () => {
    await assert.rejects(
      readMedia(uri(join(root, 'sub', 'inside.png')), { ...limits, fetchMaxBytes: 3 }),
      errorOf(ContractError, 'media-too-large'),
    );
  });

  it('reads the roots from the setting: unset is home and temp, empty is none, a relative path fails naming it', () => {
    assert.equal(loadConfig({}).media.fileRoots.length, 2);
    assert.deepEqual(loadConfig({ SEARCHBUS_MEDIA_FILE_ROOTS: '' }).media.fileRoots, []);
    assert.deepEqual(loadConfig({ SEARCHBUS_MEDIA_FILE_ROOTS: '/srv/media, /data' }).media.fileRoots, ['/srv/media', '/data']);
    assert.throws(() => loadConfig({ SEARCHBUS_MEDIA_FILE_ROOTS: 'media' }), /SEARCHBUS_MEDIA_FILE_ROOTS.*absolute/);
  });
});
