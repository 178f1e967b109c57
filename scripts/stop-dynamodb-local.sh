#!/usr/bin/env bash
# Stops the DynamoDB Local started by scripts/start-dynamodb-local.sh, by the PID it saved (never by name, so other
# Java processes on the machine are left alone). Idempotent: nothing to stop is not an error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PID_FILE="$ROOT/.emulators/ddb.pid"

if [[ ! -f "$PID_FILE" ]]; then
    echo "DynamoDB Local: no PID file ($PID_FILE); nothing to stop"
    exit 0
fi

PID="$(cat "$PID_FILE")"
if ! kill -0 "$PID" 2> /dev/null; then
    echo "DynamoDB Local: pid $PID is not running"
    rm -f "$PID_FILE"
    exit 0
fi

kill "$PID"
# The JVM exits within a second or two of SIGTERM; wait up to 10 s, then insist.
for _ in $(seq 1 50); do
    kill -0 "$PID" 2> /dev/null || break
    sleep 0.2
done
if kill -0 "$PID" 2> /dev/null; then
    echo "DynamoDB Local: pid $PID ignored SIGTERM; sending SIGKILL" >&2
    kill -9 "$PID" 2> /dev/null || true
fi
rm -f "$PID_FILE"
echo "DynamoDB Local: stopped (pid $PID)"
