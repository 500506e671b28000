#!/usr/bin/env bash
# Installs what searchbus needs on a fresh machine, idempotently: the npm packages from the
# lockfile and, as root on Debian, redis-server, Maven and ffmpeg when they are missing (with
# `--tests`, chromium and espeak-ng too). Java 17 and Python 3 are checked with a clear message (searchbus does
# not replace a machine's runtimes).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
# openssl makes the throwaway certificates of the TLS tests (test/support/certificates.ts).
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${need_apt[*]} from Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${need_apt[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need_apt[@]}" >/dev/null; }
  else
    echo "bootstrap: missing ${need_apt[*]}; install them (Debian: sudo apt-get install -y ${need_apt[*]}) or set REDIS_URL/KAFKA_BROKERS" >&2
  fi
fi
# ffmpeg decodes audio (and video) for the media embedders; its recommends are not needed.
if ! command -v ffmpeg >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ffmpeg from Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends ffmpeg >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends ffmpeg >/dev/null; }
  else
    echo "bootstrap: ffmpeg not found; audio embedding needs it (Debian: sudo apt-get install -y ffmpeg)" >&2
  fi
fi
# Headless Chromium drives the search page's browser test (test/integration/search-page.test.ts,
# through playwright-core); only the test suite asks for it (`--tests`, from test/run.sh), as
# `npm start` has no use for a browser. Without its recommends; fontconfig brings a font.
if [[ " $* " == *" --tests "* ]] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing chromium from Debian packages (for the search page's browser test)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }
  else
    echo "bootstrap: chromium not found; the search page's browser test needs it (Debian: sudo apt-get install -y chromium, or set SEARCHBUS_CHROMIUM to a Chromium executable)" >&2
  fi
fi
# espeak-ng speaks the sentences the speech-to-text test transcribes
# (test/unit/consumers/embedding/media/speech-transcriber.test.ts); only the test suite needs it.
if [[ " $* " == *" --tests "* ]] && ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing espeak-ng from Debian packages (for the speech-to-text test)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends espeak-ng >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends espeak-ng >/dev/null; }
  else
    echo "bootstrap: espeak-ng not found; the speech-to-text test needs it (Debian: sudo apt-get install -y espeak-ng)" >&2
  fi
fi
command -v java >/dev/null 2>&1 || echo "bootstrap: Java 17+ not found; local Kafka needs it (apt-get install -y openjdk-17-jre-headless) unless KAFKA_BROKERS is set" >&2
command -v python3 >/dev/null 2>&1 || echo "bootstrap: python3 not found; the local Qdrant engine needs it (apt-get install -y python3 python3-venv) unless QDRANT_URL is set" >&2

# npm ci only when the lockfile changed since the last install: it wipes node_modules.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown project config' >&2 || true
  [ -d node_modules/kafkajs ] || { echo "bootstrap: npm ci failed" >&2; exit 1; }
  touch node_modules/.package-lock.json
fi
