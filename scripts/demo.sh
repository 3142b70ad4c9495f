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
MARIADBD=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
MY_PID=
cleanup() {
  [ -n "$MY_PID" ] && { kill "$MY_PID" 2>/dev/null; wait "$MY_PID" 2>/dev/null || true; }
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA"
}
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

MYSQL_BLOCKS=
if [ -n "$MARIADBD" ] && command -v mariadb-install-db >/dev/null; then
  myport=$((port + 1)); while (echo >/dev/tcp/127.0.0.1/$myport) 2>/dev/null; do myport=$((myport + 1)); done
  step "throwaway MariaDB on 127.0.0.1:$myport, with the 好差评 (rating) database"
  MYDIR=$PGDATA/mariadb; mkdir -p "$MYDIR"
  myuser=(); if [ "$(id -u)" = 0 ]; then chown mysql: "$MYDIR"; myuser=(--user=mysql); fi
  mariadb-install-db --no-defaults "${myuser[@]}" --datadir="$MYDIR/data" --auth-root-authentication-method=normal --skip-test-db >"$OUT/mariadb-install.log" 2>&1
  "$MARIADBD" --no-defaults "${myuser[@]}" --datadir="$MYDIR/data" --port=$myport --bind-address=127.0.0.1 \
    --socket="$MYDIR/mysqld.sock" --skip-name-resolve --log-bin="$MYDIR/binlog" --server-id=1 >"$MYDIR/server.log" 2>&1 &
  MY_PID=$!
  for _ in $(seq 100); do mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
  mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot <<SQL
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE rating DEFAULT CHARACTER SET utf8mb4;
SQL
  mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot rating < scripts/sample-rating.sql
  echo "  evaluations: $(mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot -N rating -e 'SELECT count(*) FROM evaluations') rows"
  MYSQL_BLOCKS="
database \"rating\" {
  engine      = \"mariadb\"
  dsn         = \"root@tcp(127.0.0.1:$myport)/rating\"
  policy      = \"standard-mysql\"
  description = \"好差评系统（演示）\"
}
policy \"standard-mysql\" {
  full          = \"monthly\"
  differential  = \"biweekly\"
  verify        = \"after_full\"
  verify_target = \"scratch-mysql\"
}
restore_target \"scratch-mysql\" {
  engine        = \"mariadb\"
  dsn           = \"root@tcp(127.0.0.1:$myport)/\"
  scratch       = true
  allow_restore = true
}"
fi

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
$MYSQL_BLOCKS
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

if [ -n "$MYSQL_BLOCKS" ]; then
  step "MariaDB: full backup, a change, differential, verify (CHECK TABLE), redirected restore"
  "$DBOPSD" backup --database rating --type full
  mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot rating -e "INSERT INTO evaluations (dept_id, channel, score, comment, rated_at) SELECT dept_id, '移动端', 5, '办事很快 🎉', NOW(6) FROM evaluations LIMIT 2000"
  "$DBOPSD" backup --database rating --type differential
  "$DBOPSD" verify --database rating --target scratch-mysql
  "$DBOPSD" restore --database rating --target scratch-mysql --as rating_restored --replace
  a=$(mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot -N -e "SELECT count(*) FROM rating.evaluations")
  b=$(mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot -N -e "SELECT count(*) FROM rating_restored.evaluations")
  echo "  evaluations: $a in rating, $b in rating_restored"
  [ "$a" = "$b" ]
  "$DBOPSD" list
fi

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
