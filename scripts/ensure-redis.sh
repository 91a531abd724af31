#!/usr/bin/env bash
# Prints the URL of a Redis server for the tests, starting one on loopback if none answers.
#
# 1. TEST_REDIS_URL, if set, is used as is.
# 2. A server on 127.0.0.1:6379 is used if it answers (database 15, which the tests flush).
# 3. Otherwise Redis is installed from Debian if missing and a throw-away server is started on
#    a free loopback port, keeping nothing on disk (stopped with --stop).
set -euo pipefail
cd "$(dirname "$0")/.."
PIDFILE="$PWD/artifacts/redis.pid"

if [ "${1:-}" = "--stop" ]; then
  if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi
  exit 0
fi
if [ -n "${TEST_REDIS_URL:-}" ]; then
  echo "$TEST_REDIS_URL"
  exit 0
fi
if [ -z "${TEST_REDIS_PRIVATE:-}" ] && command -v redis-cli >/dev/null 2>&1 \
    && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; then
  echo "redis://127.0.0.1:6379/15"
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing Redis from Debian for the task-queue tests" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >&2; }
fi
mkdir -p artifacts
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --pidfile "$PIDFILE" \
  --dir "$PWD/artifacts" --logfile "$PWD/artifacts/redis.log" >/dev/null
for _ in $(seq 1 50); do
  [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ] && break
  sleep 0.1
done
echo "redis://127.0.0.1:$port/15"
