#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server for the tests, starting one on loopback if none answers.
#
# 1. TEST_POSTGRES_URL, if set and answering, is used as is.
# 2. A server on 127.0.0.1:5432 (trust auth, as on CI) is used if it answers.
# 3. Otherwise (or with TEST_POSTGRES_PRIVATE=1) PostgreSQL is installed from Debian if missing, and a throw-away cluster is
#    started on a free loopback port under artifacts/postgres (stopped with --stop).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR="$PWD/artifacts/postgres"

as_pg() {  # PostgreSQL refuses to run as root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

answers() {  # host port user
  command -v pg_isready >/dev/null 2>&1 || return 1
  pg_isready -q -h "$1" -p "$2" -U "$3" -t 3 && psql -h "$1" -p "$2" -U "$3" -d postgres -Atqc "select 1" >/dev/null 2>&1
}

if [ "${1:-}" = "--stop" ]; then
  if [ -f "$DATA_DIR/postmaster.pid" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    as_pg "$bindir/pg_ctl" -D "$DATA_DIR" -m fast stop >/dev/null
  fi
  exit 0
fi

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "$TEST_POSTGRES_URL"
  exit 0
fi
if [ -z "${TEST_POSTGRES_PRIVATE:-}" ] && answers 127.0.0.1 5432 postgres; then
  echo "postgres://postgres@127.0.0.1:5432/postgres"
  exit 0
fi

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  echo "Installing PostgreSQL from Debian for the concurrency tests" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2; }
fi
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
  mkdir -p "$DATA_DIR"
  chown postgres "$DATA_DIR" 2>/dev/null || true
  as_pg "$bindir/initdb" -D "$DATA_DIR" -A trust -U postgres >/dev/null
fi
if [ -f "$DATA_DIR/postmaster.pid" ]; then
  as_pg "$bindir/pg_ctl" -D "$DATA_DIR" -m fast stop >/dev/null 2>&1 || true
fi
as_pg "$bindir/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp" start >/dev/null
echo "postgres://postgres@127.0.0.1:$port/postgres"
