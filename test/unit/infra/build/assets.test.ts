import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ASSETS } from '../../../../infra/build/assets.mjs';
import { SOURCE_DIRS } from '../../../../infra/build/dist-state.mjs';

// The compiled package reads some files through paths relative to its own modules; a path missing
// from ASSETS works from the sources and breaks only in an installed package (as the graph tools
// that derive int8 files once did). Not compiled, so not in dist/ (as dist-state.mjs skips them):
const NOT_COMPILED = new Set(['node_modules', 'tests', '__pycache__', 'k8s', 'docker', 'build']);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RELATIVE_URL = /new URL\(\s*'([^']+)'\s*,\s*import\.meta\.url\s*\)/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (NOT_COMPILED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every non-code path the sources open relative to their module, as a repository path. */
function runtimePaths(): Array<{ from: string; path: string }> {
  return SOURCE_DIRS.flatMap((dir) => sources(join(ROOT, dir))).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(RELATIVE_URL)]
      .map((match) => ({
        from: relative(ROOT, file),
        path: relative(ROOT, join(dirname(file), match[1]!))
          .split(sep)
          .join('/'),
      }))
      .filter(({ path }) => path !== '' && !path.startsWith('..') && !/\.(ts|js|mjs)$/.test(path)),
  );
}

describe('build assets', () => {
  it('copies every file or folder the compiled code reads relative to itself', () => {
    const paths = runtimePaths();
    assert.ok(
      paths.some((p) => p.path === 'infra/models/graph-tools'),
      `the scan finds the known paths: ${JSON.stringify(paths)}`,
    );
    const covered = (path: string): boolean =>
      ASSETS.some((asset) => path === asset || path.startsWith(`${asset}/`) || asset.startsWith(`${path}/`));
    assert.deepEqual(
      paths.filter((p) => !covered(p.path)),
      [],
      'paths read at run time that npm run build does not copy into dist/',
    );
  });
});
