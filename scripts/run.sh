#!/usr/bin/env bash
# Starts the assistant on one machine: Rasa (REST, 5005), the action server (5055), the nurse
# console (8080), the notification outbox worker, the review collector (review queue and analytics
# from the tracker store), and the clinic's demo page with the widget (8000).
# Ctrl-C stops them all. Logs go to var/log/ (they never hold patient details).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONPATH="$PWD" TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1
# Rasa reuses connections to the action server for 15 s; Sanic would drop them after 5 s.
export SANIC_KEEP_ALIVE_TIMEOUT=75
RASA_PORT=${RASA_PORT:-5005} ACTIONS_PORT=${ACTIONS_PORT:-5055} CONSOLE_PORT=${CONSOLE_PORT:-8080} DEMO_PORT=${DEMO_PORT:-8000}
mkdir -p var/log
read -r -a ORIGINS <<<"$($BIN/python -c 'from clinic.settings import get_settings; print(" ".join(get_settings().site_origins))')"

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT
start() { local name=$1; shift; "$@" >"var/log/$name.log" 2>&1 & pids+=($!); }

start actions  $BIN/rasa run actions --actions actions --port "$ACTIONS_PORT"
start rasa     $BIN/rasa run --model models/current.tar.gz --port "$RASA_PORT" \
                 --endpoints endpoints.yml --credentials credentials.yml --cors "${ORIGINS[@]}"
start console  $BIN/python -m clinic.console --port "$CONSOLE_PORT"
start notifier $BIN/python -m clinic.handoff.notifier
start collector $BIN/python -m clinic.handoff.collector
start demo     $BIN/python -m clinic.tools.demo_site --port "$DEMO_PORT" --rasa-url "http://localhost:$RASA_PORT"

wait_for() {
  local name=$1 url=$2
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "$url" && { echo "  $name ready: $url"; return 0; }
    sleep 0.5
  done
  echo "$name did not start: see var/log/" >&2; return 1
}
echo "Starting (logs in var/log/)..."
wait_for "action server" "http://localhost:$ACTIONS_PORT/health"
wait_for "Rasa (REST channel)" "http://localhost:$RASA_PORT/"
wait_for "nurse console" "http://localhost:$CONSOLE_PORT/login"
wait_for "demo page with the chat widget" "http://localhost:$DEMO_PORT/"
cat <<MSG

Ready.
  Demo page (chat widget):  http://localhost:$DEMO_PORT/
  REST channel:             POST http://localhost:$RASA_PORT/webhooks/rest/webhook {"sender": "...", "message": "..."}
  Nurse console:            http://localhost:$CONSOLE_PORT/   (create a sign-in: make staff-user NAME=...)
  Review queue, analytics:  http://localhost:$CONSOLE_PORT/review (ROLE=reviewer), http://localhost:$CONSOLE_PORT/analytics
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
echo "a process stopped: see var/log/" >&2
exit 1
