#!/usr/bin/env bash
# Stops the moto started by scripts/start-moto.sh, by the pid it saved. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIDFILE="$ROOT/.emulators/moto.pid"

if [[ ! -f "$PIDFILE" ]]; then
  echo "moto not running (no $PIDFILE)"
  exit 0
fi
PID="$(cat "$PIDFILE")"
if kill -0 "$PID" 2>/dev/null; then
  kill "$PID"
  for _ in $(seq 1 50); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$PID" 2>/dev/null; then
    echo "moto (pid $PID) ignored SIGTERM for 5 s; sending SIGKILL" >&2
    kill -9 "$PID" 2>/dev/null || true
  fi
  echo "moto stopped (pid $PID)"
else
  echo "moto was not running (stale pid $PID)"
fi
rm -f "$PIDFILE"
