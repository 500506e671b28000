import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

// Headless Chromium for browser tests: Debian's `chromium` (infra/bootstrap.sh --tests installs it as
// root), or the executable SEARCHBUS_CHROMIUM names, driven by playwright-core. Playwright's own
// browser downloads are never used.

class ChromiumMissingError extends Error {
  override readonly name = 'ChromiumMissingError';
}

function chromiumExecutable(): string {
  const named = process.env.SEARCHBUS_CHROMIUM;
  if (named) {
    if (!existsSync(named)) throw new ChromiumMissingError(`SEARCHBUS_CHROMIUM=${named}: no such file`);
    return named;
  }
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not on PATH; try the next name
    }
  }
  throw new ChromiumMissingError(
    "no Chromium found: install Debian's chromium (`bash infra/bootstrap.sh --tests` as root does) or set SEARCHBUS_CHROMIUM",
  );
}

export function launchChromium(): Promise<Browser> {
  // As root (CI), Chromium's sandbox cannot start; playwright-core then runs it with --no-sandbox.
  return chromium.launch({ executablePath: chromiumExecutable(), headless: true });
}

/** Where tests keep what a person may want to look at afterwards (screenshots): SEARCHBUS_TEST_ARTIFACTS, else test/artifacts/. */
export async function artifactsDir(): Promise<string> {
  const dir = process.env.SEARCHBUS_TEST_ARTIFACTS ?? new URL('../artifacts/', import.meta.url).pathname;
  await mkdir(dir, { recursive: true });
  return dir;
}
