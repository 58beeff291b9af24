#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL server, exported as EVENTMATE_TEST_POSTGRES_URL.
# Without PostgreSQL installed, the command runs anyway and the PostgreSQL tests skip.
set -uo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL not found: PostgreSQL tests will be skipped."
  exec "$@"
fi

dir=$(mktemp -d /tmp/eventmate-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() {
  if [ "$(id -u)" = "0" ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
[ "$(id -u)" = "0" ] && chown postgres "$dir"

stop() {
  as_pg "'$bindir/pg_ctl' -D '$dir/data' -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT INT TERM

as_pg "'$bindir/initdb' -D '$dir/data' -U eventmate --auth=trust -E UTF8 --locale=C.UTF-8" >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log"; exit 1; }
as_pg "'$bindir/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start" >/dev/null \
  || { cat "$dir/server.log"; exit 1; }
as_pg "'$bindir/createdb' -h 127.0.0.1 -p $port -U eventmate eventmate_test" || exit 1

export EVENTMATE_TEST_POSTGRES_URL="postgresql+psycopg://eventmate@127.0.0.1:$port/eventmate_test"
echo "Throw-away PostgreSQL on 127.0.0.1:$port"
"$@"
status=$?
exit $status
