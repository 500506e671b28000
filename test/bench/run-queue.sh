#!/usr/bin/env bash
# A resumable queue of long benchmark runs (the full SciFact table, the gate's worked example) on
# shared, loaded machines. Usage: test/bench/run-queue.sh <queue-dir>, usually under
# `searchbus infra run --` so every job shares one set of services (and so the indexes built by
# earlier jobs).
#
# <queue-dir>/jobs holds one job a line, `<name><TAB><shell command>`; it is read again before each
# job, so jobs can be added or reordered while the queue runs. A job that exits 0 gets
# <queue-dir>/done/<name> and never runs again (a rerun of the queue skips it); one that fails is
# retried up to SEARCHBUS_QUEUE_ATTEMPTS times (default 3) and then skipped, and the queue goes on
# with the next. Each job's output goes to <queue-dir>/logs/<name>.log with a UTC time on every
# line; <queue-dir>/load.log gets the load average every 30 s. Commands run in <queue-dir>/current
# when it exists (a snapshot of the sources, so editing the work tree never changes a running
# job), else in the repository. With no job left the queue waits for new ones, and exits once
# <queue-dir>/stop exists.
set -uo pipefail
queue=$(realpath "$1")
repo=$(realpath "$(dirname "$0")/../..")
attempts_max=${SEARCHBUS_QUEUE_ATTEMPTS:-3}
mkdir -p "$queue/done" "$queue/failed" "$queue/logs"
touch "$queue/jobs"

stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date -u +%H:%M:%S)" "$line"; done; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

(while true; do echo "$(date -u +%H:%M:%S) load $(loadavg)" >>"$queue/load.log"; sleep 30; done) &
sampler=$!
trap 'kill "$sampler" 2>/dev/null' EXIT

next_job() {
  while IFS=$'\t' read -r name command; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ -e "$queue/done/$name" ]] && continue
    local failures
    failures=$(cat "$queue/failed/$name" 2>/dev/null || echo 0)
    ((failures >= attempts_max)) && continue
    printf '%s\t%s\n' "$name" "$command"
    return 0
  done <"$queue/jobs"
  return 1
}

while true; do
  if ! job=$(next_job); then
    [[ -e "$queue/stop" ]] && break
    sleep 15
    continue
  fi
  name=${job%%$'\t'*}
  command=${job#*$'\t'}
  dir=$repo
  [[ -d "$queue/current" ]] && dir=$(realpath "$queue/current")
  echo "$(date -u +%H:%M:%S) start $name (load $(loadavg)) in $dir: $command" | tee -a "$queue/queue.log"
  started=$(date +%s)
  (cd "$dir" && bash -c "$command") 2>&1 | stamp >>"$queue/logs/$name.log"
  code=${PIPESTATUS[0]}
  seconds=$(($(date +%s) - started))
  if ((code == 0)); then
    touch "$queue/done/$name"
    echo "$(date -u +%H:%M:%S) done $name in ${seconds} s (load $(loadavg))" | tee -a "$queue/queue.log"
  else
    echo $(($(cat "$queue/failed/$name" 2>/dev/null || echo 0) + 1)) >"$queue/failed/$name"
    echo "$(date -u +%H:%M:%S) FAILED $name (exit $code) after ${seconds} s (load $(loadavg)); attempt $(cat "$queue/failed/$name") of $attempts_max" | tee -a "$queue/queue.log"
    sleep 30 # let whatever failed (a rebalance, a slow service) settle before the retry
  fi
done
echo "$(date -u +%H:%M:%S) queue stopped (load $(loadavg))" | tee -a "$queue/queue.log"
