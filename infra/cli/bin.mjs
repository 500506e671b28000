#!/usr/bin/env node
// The `searchbus` executable. It runs the compiled CLI in dist/ (`npm run build`; a published
// package carries only that). In a clone where dist/ is missing or older than the TypeScript
// sources, it runs the sources through tsx instead (a dev dependency), so editing and testing never
// needs a build step and never runs stale code.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node 22.1+ keeps compiled bytecode of every module on disk: later starts skip most parsing.
module.enableCompileCache?.();

const root = fileURLToPath(new URL('../../', import.meta.url));
const fromSources =
  existsSync(new URL('./main.ts', import.meta.url)) && (await import('../build/dist-state.mjs')).distState(root) !== 'fresh';

if (!fromSources) {
  await import('../../dist/infra/cli/main.js');
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    console.error(
      'searchbus: dist/ is missing or stale and tsx is not installed; run `npm run build` (or `npm ci` for the dev dependencies)',
    );
    process.exitCode = 1;
  }
  if (tsx) {
    tsx.register();
    await import('./main.ts');
  }
}
