#!/usr/bin/env bash
# The model x mode table of the README: `searchbus eval` through the whole pipeline (ingest topic,
# encoder consumer, Qdrant, request topic, query consumer, Redis reply) on a BEIR folder, for each
# model given, in dense, sparse and hybrid mode. Each model gets a namespace of its own; the first
# run of a model ingests the corpus (its docs/s is the ingest figure), the others reuse the index.
# Usage: test/bench/hybrid-table.sh <beir-dir> <split> <out-dir> <model>...
# Runs under `searchbus infra run` (throwaway Kafka, Redis, Qdrant) one model after another.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$1 split=$2 out=$3
shift 3
mkdir -p "$out"
for model in "$@"; do
  slug=$(echo "$model" | tr -c 'a-z0-9\n' '-')
  for mode in dense hybrid sparse; do
    echo "== $model $mode (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$out/log.txt"
    SEARCHBUS_MODEL=$model node producers/cli/bin.mjs eval "$dir" --split "$split" --mode "$mode" \
      --namespace "table-$slug" --concurrency 8 --per-query "$out/$slug-$mode.json" 2>>"$out/$slug.stderr" | tee -a "$out/log.txt"
  done
done
echo "== done (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$out/log.txt"
