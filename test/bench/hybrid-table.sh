#!/usr/bin/env bash
# The model x mode table of the README: `searchbus eval` through the whole pipeline (ingest topic,
# encoder consumer, Qdrant, request topic, query consumer, Redis reply) on a BEIR folder, for each
# model given, in dense, hybrid and sparse mode. Each model gets a namespace of its own; the first
# run of a model ingests the corpus (its docs/s is the ingest figure), the others reuse the index.
# Usage: test/bench/hybrid-table.sh <beir-dir> <split> <out-dir> <model>...
# Runs under `searchbus infra run` (throwaway Kafka, Redis, Qdrant) one model after another,
# through the resumable queue of run-queue.sh: run it again (same out-dir, same services) and it
# skips the runs that finished; an interrupted ingest resumes where it stopped (see `eval`), and a
# failed run is retried. Figures: <out-dir>/logs/<model>-<mode>.log; per query: <out-dir>/<model>-<mode>.json.
# Batches of 16 documents: on loaded cores a batch of 64 took longer to embed than the consumer
# group's 30 s session timeout, so the encoder was dropped from its group and redid the batch.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$(realpath "$1") split=$2 out=$3
shift 3
mkdir -p "$out"
out=$(realpath "$out")
: >"$out/jobs"
for model in "$@"; do
  slug=$(echo "$model" | tr -c 'a-z0-9\n' '-')
  for mode in dense hybrid sparse; do
    printf '%s\tSEARCHBUS_MODEL=%s SEARCHBUS_ENCODER_MAX_BATCH_SIZE=16 node infra/cli/bin.mjs eval %q --split %q --mode %s --namespace table-%s --concurrency 8 --per-query %q\n' \
      "$slug-$mode" "$model" "$dir" "$split" "$mode" "$slug" "$out/$slug-$mode.json" >>"$out/jobs"
  done
done
touch "$out/stop" # run every job, then end
exec bash test/bench/run-queue.sh "$out"
