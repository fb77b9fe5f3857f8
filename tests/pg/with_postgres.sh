#!/usr/bin/env bash
# with_postgres.sh CMD [ARGS...]: runs CMD with a throwaway PostgreSQL 15 cluster.
#
# The cluster lives in a fresh temporary folder (initdb), listens only on a Unix socket in
# that folder (listen_addresses=''), trusts local connections, and is stopped and removed
# when CMD exits, whatever happens. CMD sees
#   VP_TEST_PG_URL=postgresql:///postgres?host=<socket dir>&user=<cluster owner>
# and the script exits with CMD's status. PostgreSQL refuses to run as root, so as root the
# cluster runs as `nobody` (runuser); otherwise as the current user.
#
# For speed the cluster runs with fsync off (tests check behaviour, not crash safety);
# VP_PG_DURABLE=1 keeps PostgreSQL's durable defaults (for benchmarks).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

PG_BIN=${VP_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "with_postgres: $PG_BIN/initdb not found (Debian package postgresql-15)" >&2
  exit 2
fi

# A short base path: the socket path must fit in 107 bytes.
base=$(mktemp -d /tmp/vp-pg.XXXXXX)
data="$base/data"
sock="$base/sock"
mkdir -p "$sock"

as_owner=()
owner=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  owner=nobody
  chown -R "$owner" "$base"
  as_owner=(runuser -u "$owner" --)
fi

cleanup() {
  # -m immediate: nothing to preserve; the folder goes next.
  (cd "$base" && "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1) || true
  rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

durability=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
[ "${VP_PG_DURABLE:-0}" = "1" ] && durability=()

(
  cd "$base"
  "${as_owner[@]}" "$PG_BIN/initdb" -D "$data" -U "$owner" --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 \
    >"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; exit 1; }
  "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $sock -c max_connections=200 ${durability[*]}" start >/dev/null \
    || { cat "$base/server.log" >&2; exit 1; }
) || exit 1

export VP_TEST_PG_URL="postgresql:///postgres?host=$sock&user=$owner"
set +e
"$@"
rc=$?
set -e
exit $rc
