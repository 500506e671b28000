#!/usr/bin/env bash
# Issue 13's worked example on a namespace that `searchbus eval` (or hybrid-table.sh) already
# filled: registers the BEIR folder's judged queries as an eval set, starts a reindex worker in
# that namespace, asks for a gated rebuild to another model and prints the gate's verdict.
# Usage: test/bench/gate-example.sh <namespace> <beir-dir> <split> <to-model> <expected: accepted|refused> [max-ndcg-drop]
# Runs against the services in the environment (under `searchbus infra run`, or `searchbus up`);
# SEARCHBUS_SPARSE_ANALYZER and the SEARCHBUS_QUERY_* fusion settings reach the worker (and so
# the new collection and the gate's hybrid searches). Exits 0 when the verdict is the expected one.
set -uo pipefail
cd "$(dirname "$0")/../.."
namespace=$1 dir=$2 split=$3 model=$4 expected=$5 drop=${6:-0.005}
export SEARCHBUS_NAMESPACE=$namespace
cli() { node infra/cli/bin.mjs "$@"; }

cli eval-set add "$split-set" "$dir" --split "$split" || exit 1
SEARCHBUS_METRICS_PORT=0 node infra/cli/bin.mjs run reindex &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT
echo "load before the rebuild: $(cut -d' ' -f1-3 /proc/loadavg)"
cli reindex --model "$model" --gate "$split-set" --max-ndcg-drop "$drop" --watch --json
code=$?
echo "load after the rebuild: $(cut -d' ' -f1-3 /proc/loadavg); reindex exit code $code"
cli status
case "$expected:$code" in
  accepted:0 | refused:5) exit 0 ;;
  *) echo "expected $expected, reindex exited $code" >&2; exit 1 ;;
esac
