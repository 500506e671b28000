// Whether dist/ (the compiled build) matches the TypeScript sources beside it. Plain JavaScript:
// it runs before anything is compiled, from the `searchbus` bin and from `npm start`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What the build compiles or copies; a change to any of them makes dist/ stale. */
export const SOURCE_DIRS = ['producers', 'consumers', 'topology', 'infra'];
export const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
export const STAMP = join('dist', '.build-stamp.json');
/** Not compiled; their changes never make dist/ stale. */
const SKIPPED = new Set(['node_modules', 'tests', '__pycache__', 'k8s', 'docker', 'build']);

/**
 * 'fresh' when dist/ was built from the current sources, 'stale' when a source changed after the
 * build started, 'missing' when there is no complete build. Compares modification times against
 * the build's start time, so an edit made while tsc ran counts as a change.
 */
export function distState(root) {
  let builtFrom;
  try {
    builtFrom = JSON.parse(readFileSync(join(root, STAMP), 'utf8')).startedAtMs;
  } catch {
    return 'missing';
  }
  if (typeof builtFrom !== 'number') return 'missing';
  for (const file of SOURCE_FILES) {
    if (modifiedAfter(join(root, file), builtFrom)) return 'stale';
  }
  for (const dir of SOURCE_DIRS) {
    if (treeModifiedAfter(join(root, dir), builtFrom)) return 'stale';
  }
  return 'fresh';
}

function modifiedAfter(path, ms) {
  try {
    return statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

function treeModifiedAfter(dir, ms) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED.has(entry.name) && treeModifiedAfter(path, ms)) return true;
    } else if (!entry.name.endsWith('.pyc') && modifiedAfter(path, ms)) {
      return true;
    }
  }
  return false;
}
