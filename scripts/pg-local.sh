#!/usr/bin/env bash
# Start a throw-away local PostgreSQL for trying sendwatch's team mode on one machine.
#
#   bash scripts/pg-local.sh [PORT]        # runs in the foreground; Ctrl-C stops it and deletes its data
#
# It prints the SENDWATCH_DATABASE_URL to use. Debian/Ubuntu: `apt-get install postgresql` first.
# The server refuses to run as root, so as root it runs as the `postgres` user. Test settings
# (fsync off) are NOT for data you care about: a team uses a real, managed PostgreSQL.
set -euo pipefail
port="${1:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bin" ] || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 1; }
dir="$(mktemp -d /tmp/sendwatch-pg.XXXXXX)"
as=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as=(runuser -u postgres --); fi
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
cd /
"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
"${as[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB &
pid=$!
until "$bin/pg_isready" -h "$dir" -p "$port" -q; do sleep 0.2; done
password="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$bin/psql" -q -h "$dir" -p "$port" -U postgres -c "CREATE ROLE sendwatch LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE sendwatch OWNER sendwatch"
echo "PostgreSQL is running on 127.0.0.1:$port (Ctrl-C stops it and deletes its data). In another shell:"
echo "  export SENDWATCH_DATABASE_URL='postgresql://sendwatch:$password@127.0.0.1:$port/sendwatch'"
wait "$pid"
