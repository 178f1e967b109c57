#!/usr/bin/env bash
# Starts moto (S3, SQS, DynamoDB emulator) on 127.0.0.1:${MOTO_PORT:-5000} in the background, without Docker.
# Idempotent: installs the venv only once and does nothing if moto already answers on that port.
# Then run the AWS suites with MAVIS_TEST_AWS_ENDPOINT=http://127.0.0.1:${MOTO_PORT:-5000}.
# See shared/spec/local-aws.md §1.1 (recipe) and §2.1 (moto quirks). Stop it with scripts/stop-moto.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.emulators"
VENV="$DIR/moto-venv"
PORT="${MOTO_PORT:-5000}"
URL="http://127.0.0.1:$PORT/moto-api/"
MOTO_VERSION="5.2.5"

mkdir -p "$DIR"

if curl -sf -o /dev/null "$URL"; then
  echo "moto already up at http://127.0.0.1:$PORT"
  exit 0
fi

if ! "$VENV/bin/python" -c "import moto, flask, flask_cors, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "installing moto $MOTO_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "moto[s3,sqs,dynamodb]==$MOTO_VERSION" flask flask-cors
fi

# setsid: moto must outlive this script and the shell that ran it.
setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$DIR/moto.log" 2>&1 < /dev/null &
echo $! >"$DIR/moto.pid"

for _ in $(seq 1 300); do
  if curl -sf -o /dev/null "$URL"; then
    echo "moto up at http://127.0.0.1:$PORT (pid $(cat "$DIR/moto.pid"), log $DIR/moto.log)"
    exit 0
  fi
  if ! kill -0 "$(cat "$DIR/moto.pid")" 2>/dev/null; then
    echo "moto exited during start-up; last lines of $DIR/moto.log:" >&2
    tail -n 20 "$DIR/moto.log" >&2
    rm -f "$DIR/moto.pid"
    exit 1
  fi
  sleep 0.1
done
echo "moto did not answer on $URL within 30 s; see $DIR/moto.log" >&2
exit 1
