#!/usr/bin/env bash
# `make demo`: the main job of dbopsd on the embedded default, start to end.
# Starts a throwaway PostgreSQL filled with service-hall data, backs it up into
# a local repository (full, then differential after a change), verifies the
# backup, restores it under another name, restores a single table, checks the
# repository and shows the job log. Everything it makes lies under $DEMO_DIR
# (default ./demo-out); the throwaway server is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DBOPSD=${DBOPSD:-$PWD/bin/dbopsd}
OUT=$(realpath -m "${DEMO_DIR:-demo-out}")
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

PGBIN=${DBOPS_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found: run 'make deps' (as root) or set DBOPS_PG_BIN"; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT"
PGDATA=$(mktemp -d /tmp/dbopsd-demo-pg.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDATA"; chmod 755 "$PGDATA"; AS=(runuser -u postgres --); fi
port=$((20000 + RANDOM % 10000)); while (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
cleanup() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$PGDATA"; }
trap cleanup EXIT

step "throwaway PostgreSQL on 127.0.0.1:$port"
"${AS[@]}" "$PGBIN/initdb" -D "$PGDATA/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$OUT/initdb.log" 2>&1
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" -l "$PGDATA/server.log" -w \
  -o "-p $port -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
  { echo "PostgreSQL did not start:"; tail -20 "$PGDATA/server.log"; exit 1; }
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE hall"

step "sample data: service windows, staff, queue tickets, applications, ratings"
psql -d hall -f scripts/sample-hall.sql
psql -d hall -At -c "SELECT '  ' || relname || ': ' || n_live_tup || ' rows' FROM pg_stat_user_tables ORDER BY relname"

export DEMO_REPO_PASSPHRASE=${DEMO_REPO_PASSPHRASE:-demo-only-passphrase}
cat >"$OUT/dbopsd.hcl" <<HCL
# Policy written by scripts/demo.sh. See config.hcl for a complete sample.
daemon {
  state_dir = "$OUT/state"
  socket    = "$OUT/dbopsd.sock"
}
storage "local" {
  type = "local"
  path = "$OUT/repository"
}
repository {
  storage    = "local"
  passphrase = env("DEMO_REPO_PASSPHRASE")
}
policy "standard" {
  full          = "monthly"
  differential  = "biweekly"
  verify        = "after_full"
  verify_target = "scratch"
}
database "hall" {
  engine      = "postgres"
  dsn         = "postgres://postgres@127.0.0.1:$port/hall"
  policy      = "standard"
  critical    = true
  description = "政务服务大厅（演示）"
}
restore_target "scratch" {
  engine        = "postgres"
  dsn           = "postgres://postgres@127.0.0.1:$port/postgres"
  scratch       = true
  allow_restore = true
}
HCL
export DBOPS_CONFIG="$OUT/dbopsd.hcl"

step "dbopsd config validate"
"$DBOPSD" config validate
step "dbopsd repo init"
"$DBOPSD" repo init
step "dbopsd backup --type full"
"$DBOPSD" backup --database hall --type full

step "a day at the service hall: new tickets, finished applications, new ratings"
psql -d hall <<'SQL'
SET search_path = hall;
INSERT INTO tickets (ticket_no, service, window_id, citizen, issued_at, status)
SELECT 'N' || g, '社保查询', 1 + g % 40, '市民新' || g, now(), '办理中' FROM generate_series(1, 6000) g;
UPDATE applications SET state = '办结' WHERE id % 500 = 0;
INSERT INTO ratings (ticket_id, score, comment, rated_at) SELECT g, 5, '非常满意', now() FROM generate_series(1, 2000) g;
SQL
step "dbopsd backup --type differential"
"$DBOPSD" backup --database hall --type differential
step "dbopsd list"
"$DBOPSD" list

step "dbopsd verify (restore into a scratch database, compare every table, pg_amcheck, drop)"
"$DBOPSD" verify --database hall --target scratch

step "dbopsd restore: redirected, as hall_restored"
"$DBOPSD" restore --database hall --target scratch --as hall_restored --replace
a=$(psql -d hall -At -c "SELECT count(*) FROM hall.tickets")
b=$(psql -d hall_restored -At -c "SELECT count(*) FROM hall.tickets")
echo "  tickets: $a in hall, $b in hall_restored"
[ "$a" = "$b" ]

step "dbopsd restore --table hall.ratings, as hall_ratings_only"
"$DBOPSD" restore --database hall --target scratch --as hall_ratings_only --table hall.ratings --replace

step "dbopsd check --read-data"
"$DBOPSD" check --read-data

step "dbopsd log (备份日志)"
"$DBOPSD" log

step "done"
cat <<EOF2
  policy file:   $OUT/dbopsd.hcl
  repository:    $OUT/repository   ($(du -sh "$OUT/repository" | cut -f1), encrypted)
  catalog + log: $OUT/state/catalog.db
  restored:      databases hall_restored and hall_ratings_only (the throwaway server is stopped now)
  try:           DBOPS_CONFIG=$OUT/dbopsd.hcl DEMO_REPO_PASSPHRASE=$DEMO_REPO_PASSPHRASE $DBOPSD list --json
EOF2
