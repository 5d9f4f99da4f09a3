#!/usr/bin/env bash
# `make run`: a capmon worker and a simulated feed against the local broker (already started by `make kafka`).
# Each run uses its own topic prefix (unless CAPMON_TOPIC_PREFIX is set), so figures start from a clean slate.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export CAPMON_KAFKA_BOOTSTRAP="${CAPMON_KAFKA_BOOTSTRAP:-127.0.0.1:${KAFKA_PORT:-9092}}"
export CAPMON_TOPIC_PREFIX="${CAPMON_TOPIC_PREFIX-run$(date +%Y%m%d%H%M%S).}"
export CAPMON_WEB_PORT="${CAPMON_WEB_PORT:-6066}"
export CAPMON_STATE_DIR="${CAPMON_STATE_DIR:-.cache/state}"
SPEED="${SPEED:-7200}"
DAYS="${DAYS:-365}"  # simulated days; the run ends (and stops the worker) when the feed does
mkdir -p .cache/run
LOG=.cache/run/worker.log
URL="http://127.0.0.1:${CAPMON_WEB_PORT}"

healthy() { "$BIN/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$URL/health" 2>/dev/null; }

if (exec 3<>"/dev/tcp/127.0.0.1/${CAPMON_WEB_PORT}") 2>/dev/null; then
  echo "capmon: port ${CAPMON_WEB_PORT} is already in use; stop what runs there or set CAPMON_WEB_PORT=..." >&2
  exit 2
fi

"$BIN/capmon" topics >/dev/null
"$BIN/capmon" worker >"$LOG" 2>&1 &
WORKER=$!
FEED=
trap 'kill -TERM $FEED $WORKER 2>/dev/null; wait $WORKER 2>/dev/null; echo "capmon: worker stopped (Kafka still runs: make kafka-stop)"' EXIT
# Ctrl-C ends the script at once, whatever runs: bash would go on with the next command when the child it waited
# for did not die of the signal itself (capmon's commands exit 130 on Ctrl-C), and a Ctrl-C that came as the feed
# was being started reached bash only, which then waited for a year-long feed. So the feed runs in the
# background and bash `wait`s for it (a trapped signal interrupts `wait`); the EXIT trap stops the feed and the
# worker.
trap 'exit 130' INT TERM

for _ in $(seq 1 120); do
  if healthy; then break; fi
  if ! kill -0 $WORKER 2>/dev/null; then echo "capmon: the worker exited; see $LOG" >&2; tail -5 "$LOG" >&2; exit 1; fi
  sleep 0.5
done
"$BIN/capmon" replay deploy/forecasts/mpp-2023.jsonl 2>/dev/null

cat <<MSG

  capmon is running (topic prefix '${CAPMON_TOPIC_PREFIX}', worker log ${LOG})
    status page   ${URL}/
    metrics       ${URL}/metrics
    API           ${URL}/api/occupancy   ${URL}/api/inflow   ${URL}/api/alerts   ${URL}/health
  Simulated feed at ${SPEED}x real time; Ctrl-C stops the feed and the worker.

MSG
"$BIN/capmon" simulate --speed "$SPEED" --seed "${SEED:-1}" --days "$DAYS" &
FEED=$!
wait $FEED
