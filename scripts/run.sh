#!/usr/bin/env bash
# `make run`: the web app and one worker beside it (the worker sends the morning prompts),
# in one terminal. Ctrl-C stops both.
set -uo pipefail
bin=${EVENTMATE_BIN:-.venv/bin}
host=${EVENTMATE_HOST:-127.0.0.1}
port=${EVENTMATE_PORT:-5000}

# Where to open it (for 0.0.0.0: this computer's address on the network, which phones use too).
EVENTMATE_HOST=$host EVENTMATE_PORT=$port "$bin/python" -m eventmate.addresses

# A background job of a script ignores Ctrl-C, so the worker is stopped from here on exit.
"$bin/flask" --app app worker --interval "${EVENTMATE_WORKER_INTERVAL:-30}" &
worker=$!
stop_worker() {
  kill -TERM "$worker" 2>/dev/null && wait "$worker" 2>/dev/null
}
trap stop_worker EXIT
trap 'exit 130' INT TERM

"$bin/flask" --app app run --host "$host" --port "$port"
