#!/usr/bin/env bash
# `make bench`: Go benchmarks, then dbopsd side by side with the engines' own
# tools on real servers, printing wall-time ratios, stored sizes and peak RSS.
#
#   BENCH_SCALE=100         pgbench scale (about 1.5 GB); 10 for a quick look
#   BENCH_MYSQL_ROWS=3000000 rows of the MariaDB table (about 650 MB of InnoDB)
#   BENCH_ONLY=go|pg|mysql  run one part; pgrows|mysqlrows: only that
#                           engine's row-level differential cases
#   BENCH_DIR=bench-out     where dumps, repositories and results.txt go
#   BENCH_RUNS=3            rounds of the side-by-side backup comparison
set -euo pipefail
cd "$(dirname "$0")/.."
DBOPSD=$PWD/bin/dbopsd
SCALE=${BENCH_SCALE:-100}
MYROWS=${BENCH_MYSQL_ROWS:-3000000}
ONLY=${BENCH_ONLY:-all}
RUNS=${BENCH_RUNS:-3}
OUT=$(realpath -m "${BENCH_DIR:-bench-out}")
rm -rf "$OUT"; mkdir -p "$OUT"
RESULTS=$OUT/results.txt
WORK=$(mktemp -d /tmp/dbopsd-bench.XXXXXX); chmod 755 "$WORK"
export BENCH_PASS=bench-passphrase BENCH_S3_ACCESS=benchadmin BENCH_S3_SECRET=benchadmin-secret

say() { echo "$*" | tee -a "$RESULTS"; }
freeport() { local p=$((20000 + RANDOM % 10000)); while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p + 1)); done; echo $p; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
declare -A WALL RSS
# measure LABEL CMD...: wall seconds and peak RSS of CMD, page cache dropped first.
measure() {
  local label=$1; shift
  local f=${label//[^a-zA-Z0-9]/_}
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f '%e %M' -o "$OUT/time.$f" "$@" >"$OUT/out.$f" 2>&1 || { echo "$label failed:"; tail "$OUT/out.$f"; exit 1; }
  local w r; read -r w r <"$OUT/time.$f"; WALL[$label]=$w; RSS[$label]=$r
  say "$(printf '   %-38s %7.1f s  peak RSS %6d MiB' "$label" "$w" $((r / 1024)))"
}
# rounds LABEL 'COMMAND' LABEL 'COMMAND'...: runs the commands in turn, RUNS
# rounds, page cache dropped before each, and keeps each one's median wall
# time and highest peak RSS. A virtual machine's speed drifts by tens of
# percent over minutes; taking turns spreads the drift over every command
# instead of handing it to one.
rounds() {
  local -a labels=() cmds=(); local -A walls=() rss=()
  while [ $# -gt 0 ]; do labels+=("$1"); cmds+=("$2"); shift 2; done
  for r in $(seq "$RUNS"); do
    for i in "${!labels[@]}"; do
      local f=${labels[$i]//[^a-zA-Z0-9]/_}
      sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
      /usr/bin/time -f '%e %M' -o "$OUT/time.$f" bash -o pipefail -c "${cmds[$i]}" >"$OUT/out.$f" 2>&1 || { echo "${labels[$i]} failed:"; tail "$OUT/out.$f"; exit 1; }
      local w m; read -r w m <"$OUT/time.$f"
      walls[$i]+="$w "; rss[$i]=$(( m > ${rss[$i]:-0} ? m : ${rss[$i]:-0} ))
    done
  done
  for i in "${!labels[@]}"; do
    local med; med=$(tr ' ' '\n' <<<"${walls[$i]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    WALL[${labels[$i]}]=$med; RSS[${labels[$i]}]=${rss[$i]}
    say "$(printf '   %-38s %7.1f s  peak RSS %6d MiB  (runs: %s)' "${labels[$i]}" "$med" $((rss[$i] / 1024)) "${walls[$i]% }")"
  done
}
# shellmeasure LABEL 'pipeline': like measure, for a shell pipeline.
shellmeasure() { local label=$1; shift; measure "$label" bash -o pipefail -c "$*"; }
ratio() { awk -v a="${WALL[$1]}" -v b="${WALL[$2]}" 'BEGIN { printf "%.2fx", a / b }'; }
stored() { "$DBOPSD" list --config "$1" --json | python3 -c 'import json,sys; b=json.load(sys.stdin)["backups"]; print(b[-1]["stored_bytes"])'; }
policy() { # FILE STORAGE-BLOCK DATABASE-AND-TARGET-BLOCKS
cat >"$1" <<HCL
daemon { state_dir = "$1.state" }
$2
repository {
  storage    = "repo"
  passphrase = env("BENCH_PASS")
}
policy "p" {
  full         = "monthly"
  differential = "weekly"
  parallel     = 2
}
$3
HCL
}
local_storage() { printf 'storage "repo" {\n  type = "local"\n  path = "%s"\n}' "$1"; }
# Row-level differentials (repository/rows.go): each case on a fresh
# full, so that each differential holds its own change only. The table
# says how each table was stored (dbopsd show). SIDE, when set, is a
# function run as "SIDE full" after dbopsd's full and "SIDE diff LABEL" after
# its differential: another tool's backups of the same change (pgBackRest).
# ROW_SETTLE, when set, runs before each measured backup of a row case (for
# PostgreSQL a CHECKPOINT: otherwise the checkpointer writes the load's or
# the change's pages out during the measured backup, and the full after a
# fresh pgbench -i took 14 s instead of 5).
rowcase() { # LABEL CONFIG SQL-RUNNER SQL [SIDE]
  local label=$1 cfg=$2 run=$3 sql=$4 side=${5:-} full d
  [ -z "${ROW_SETTLE:-}" ] || $ROW_SETTLE >/dev/null
  measure "dbopsd full before $label" "$DBOPSD" backup -q --config "$cfg" --database bench --type full
  full=$(stored "$cfg")
  [ -z "$side" ] || $side full
  $run "$sql"
  [ -z "${ROW_SETTLE:-}" ] || $ROW_SETTLE >/dev/null
  measure "dbopsd differential $label" "$DBOPSD" backup -q --config "$cfg" --database bench --type differential
  d=$(stored "$cfg")
  say "   stored $(mib "$d") = $(pct "$d" "$full") of its full ($(mib "$full")), in $(ratio "dbopsd differential $label" "dbopsd full before $label") the full's time (aims: <= 5%, <= 1.5x)"
  "$DBOPSD" show --config "$cfg" --database bench >"$OUT/show.txt" 2>/dev/null
  awk '/^how tables were stored/ {p=1} p && NF' "$OUT/show.txt" | sed 's/^/   /' | tee -a "$RESULTS"
  [ -z "$side" ] || $side diff "$label"
}
# pgbackrest full|diff LABEL: pgBackRest 2.45 backs up the bench cluster into
# a repository of its own (zstd, as dbopsd), beside dbopsd's backups of the
# same change: full after dbopsd's full, diff after its differential. No WAL
# archive (archive-check=n): only the backups' stored sizes are compared.
PGBR=no
pgbackrest_setup() {
  if ! command -v pgbackrest >/dev/null; then say "   pgBackRest: not installed (make bench-deps installs it); not compared"; return; fi
  mkdir -p "$WORK/pgbr"; [ -z "${AS[*]}" ] || chown postgres: "$WORK/pgbr"
  cat >"$WORK/pgbr/pgbackrest.conf" <<CONF
[global]
repo1-path=$WORK/pgbr/repo
repo1-retention-full=9
log-path=$WORK/pgbr
lock-path=$WORK/pgbr
spool-path=$WORK/pgbr
log-level-console=warn
log-level-file=off
compress-type=zst
start-fast=y
archive-check=n
process-max=2
[bench]
pg1-path=$WORK/pg
pg1-port=$port
pg1-socket-path=$WORK
pg1-user=postgres
CONF
  if "${AS[@]}" pgbackrest --config="$WORK/pgbr/pgbackrest.conf" --stanza=bench stanza-create >"$OUT/pgbr.log" 2>&1; then
    PGBR=yes
  else
    say "   pgBackRest: stanza-create failed, not compared: $(tail -1 "$OUT/pgbr.log")"
  fi
}
pgbackrest_side() { # full | diff LABEL
  [ "$PGBR" = yes ] || return 0
  local typ=$1 label=${2:-}
  if ! "${AS[@]}" pgbackrest --config="$WORK/pgbr/pgbackrest.conf" --stanza=bench --type="$typ" backup >>"$OUT/pgbr.log" 2>&1; then
    say "   pgBackRest $typ backup failed: $(tail -1 "$OUT/pgbr.log")"; PGBR=failed; return 0
  fi
  local delta; delta=$("${AS[@]}" pgbackrest --config="$WORK/pgbr/pgbackrest.conf" --stanza=bench --output=json info |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["info"]["repository"]["delta"])')
  if [ "$typ" = full ]; then PGBR_FULL=$delta; return 0; fi
  say "   pgBackRest 2.45 on the same change ($label): differential $(mib "$delta") = $(pct "$delta" "$PGBR_FULL") of its full ($(mib "$PGBR_FULL"))"
}

PIDS=(); CLEANUP=()
cleanup() {
  for c in "${CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say "== $(date -u +%F), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(df -h "$OUT" | awk 'NR==2{print $1}')"

if [ "$ONLY" = all ] || [ "$ONLY" = go ]; then
  say "== Go benchmarks: 500-database policy (validate, agent start-up, idle RSS); scheduler per simulated minute"
  DBOPS_BENCH_BINARY=$DBOPSD go test -run '^$' -bench . -benchmem -benchtime 10x ./daemon/ ./config/ ./report/ 2>&1 | grep -E '^(Benchmark|FAIL)' | tee -a "$RESULTS" || true
  go test -run '^$' -bench . -benchmem -benchtime 1440x ./schedule/ 2>&1 | grep -E '^(Benchmark|FAIL)' | tee -a "$RESULTS" || true
  GOMAXPROCS=1 go test -run '^$' -bench BlobListener -benchtime 5x ./engines/mssql/blobsrv/ 2>&1 | grep -E '^(Benchmark|FAIL)' | tee -a "$RESULTS" || true
  say "== reconciliation, PostgreSQL against MariaDB, 1,000,000 rows each (aim: match < 10 s with < 5 %network; ten differences < 20 s)"
  go test -run '^$' -bench ReconcileMillion -benchtime 1x -timeout 30m ./reconcile/ 2>&1 | grep -E '^(Benchmark|FAIL)' | tee -a "$RESULTS" || true
  go test -run '^$' -bench BenchmarkDictionaryLarge -benchtime 1x -timeout 30m ./dictionary/ 2>&1 | grep -E '^(Benchmark|FAIL)' | tee -a "$RESULTS" || true
  # Diagnostics on 2,000 tables / 6,000 indexes, with check_postgres and MySQLTuner side by side.
  go test -run '^$' -bench . -benchmem -benchtime 3x -timeout 30m ./diagnostics/ 2>&1 | grep -E '^(Benchmark|FAIL)' | tee -a "$RESULTS" || true
fi

if [ "$ONLY" = all ] || [ "$ONLY" = pg ] || [ "$ONLY" = pgrows ]; then
  PGBIN=${DBOPS_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
  AS=(); if [ "$(id -u)" = 0 ]; then chown postgres: "$WORK"; AS=(runuser -u postgres --); fi
  port=$(freeport)
  "${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 >/dev/null
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $port -k $WORK -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" start >/dev/null
  CLEANUP+=("${AS[*]} $PGBIN/pg_ctl -D $WORK/pg -m fast stop")
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
  psql() { "$PGBIN/psql" -Xq -v ON_ERROR_STOP=1 "$@"; }
  psql -d postgres -c "CREATE DATABASE bench"
  say "== PostgreSQL: pgbench -i -s $SCALE"
  "$PGBIN/pgbench" -q -i -s "$SCALE" bench 2>&1 | tail -1
  say "   database size: $(psql -At -d bench -c "SELECT pg_size_pretty(pg_database_size('bench'))")"

  if [ "$ONLY" != pgrows ]; then
  mport=$(freeport); mkdir -p "$OUT/minio-data"
  MINIO=$(command -v minio || echo "$(go env GOPATH)/bin/minio")
  MINIO_ROOT_USER=$BENCH_S3_ACCESS MINIO_ROOT_PASSWORD=$BENCH_S3_SECRET MINIO_BROWSER=off \
    "$MINIO" server "$OUT/minio-data" --address "127.0.0.1:$mport" --console-address "127.0.0.1:$(freeport)" >"$OUT/minio.log" 2>&1 &
  PIDS+=($!); MINIO_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mport/minio/health/live" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$BENCH_S3_ACCESS:$BENCH_S3_SECRET" -X PUT "http://127.0.0.1:$mport/bench" >/dev/null
  fi

  DB="database \"bench\" {
  engine = \"postgres\"
  dsn    = \"postgres://postgres@127.0.0.1:$port/bench\"
  policy = \"p\"
}
restore_target \"scratch\" {
  engine        = \"postgres\"
  dsn           = \"postgres://postgres@127.0.0.1:$port/postgres\"
  scratch       = true
  allow_restore = true
}"
  LOCAL=$OUT/pg-local.hcl MINIOCFG=$OUT/pg-minio.hcl
  policy "$LOCAL" "$(local_storage "$OUT/repo-pg")" "$DB"
  [ "$ONLY" = pgrows ] || policy "$MINIOCFG" "storage \"repo\" {
  type       = \"s3\"
  endpoint   = \"127.0.0.1:$mport\"
  bucket     = \"bench\"
  access_key = env(\"BENCH_S3_ACCESS\")
  secret_key = env(\"BENCH_S3_SECRET\")
}" "$DB"
  "$DBOPSD" repo init --config "$LOCAL" >/dev/null
  [ "$ONLY" = pgrows ] || "$DBOPSD" repo init --config "$MINIOCFG" >/dev/null

  pgsql() { psql -d bench -c "$1"; }
  pgsettle() { psql -d bench -c CHECKPOINT; }
  ROW_SETTLE=pgsettle
  # The issue's case first: pgbench -i, then 1 % updated, against its own full.
  say "== PostgreSQL differential after updating 1% of rows at random (pgbench -i, then the update; its own full)"
  pgbackrest_setup
  rowcase "1% updated (PG)" "$LOCAL" pgsql "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid IN (SELECT (1 + random() * (100000 * $SCALE - 1))::int FROM generate_series(1, 1000 * $SCALE))" pgbackrest_side

  if [ "$ONLY" != pgrows ]; then
  say "== PostgreSQL full backup (median of $RUNS rounds)"
  rounds "pg_dump -Fc" "rm -f '$OUT/dump.custom' && '$PGBIN/pg_dump' -Fc -f '$OUT/dump.custom' bench" \
    "pg_dump -Fd -j2 -Z0" "rm -rf '$OUT/dump.dir' && '$PGBIN/pg_dump' -Fd -j2 -Z0 -f '$OUT/dump.dir' bench" \
    "dbopsd backup (local)" "'$DBOPSD' backup -q --config '$LOCAL' --database bench --type full" \
    "dbopsd backup (MinIO)" "'$DBOPSD' backup -q --config '$MINIOCFG' --database bench --type full"
  FULL=$(stored "$LOCAL")
  say "   dbopsd / pg_dump -Fd -j2 -Z0: local $(ratio 'dbopsd backup (local)' 'pg_dump -Fd -j2 -Z0'), MinIO $(ratio 'dbopsd backup (MinIO)' 'pg_dump -Fd -j2 -Z0') (aim <= 1.2x)"
  # MinIO shares the two cores: how much CPU does it spend on one backup?
  cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  ticks=$(getconf CLK_TCK); m0=$(cpu "$MINIO_PID")
  "$DBOPSD" backup -q --config "$MINIOCFG" --database bench --type full >/dev/null 2>&1 || { echo "MinIO backup failed"; exit 1; }
  say "   MinIO's own CPU for one such backup: $(awk -v t=$(( $(cpu "$MINIO_PID") - m0 )) -v hz="$ticks" 'BEGIN { printf "%.1f s", t / hz }') (on the same two cores; pg_dump to local disk pays none)"
  say "   stored: dbopsd $(mib "$FULL"), pg_dump -Fc $(mib "$(stat -c %s "$OUT/dump.custom")"), pg_dump -Fd -Z0 $(mib "$(du -sb "$OUT/dump.dir" | cut -f1)")"

  fi
  say "== PostgreSQL differential after +2% rows (its own full)"
  rowcase "+2% appended (PG)" "$LOCAL" pgsql "INSERT INTO pgbench_accounts SELECT aid + 100000 * $SCALE, 1, 0, '' FROM pgbench_accounts WHERE aid <= 2000 * $SCALE" pgbackrest_side
  say "== PostgreSQL mixed day: 0.5% updated, 0.2% deleted, 1% inserted"
  rowcase "mixed day (PG)" "$LOCAL" pgsql "UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid IN (SELECT (1 + random() * (100000 * $SCALE - 1))::int FROM generate_series(1, 500 * $SCALE));
    DELETE FROM pgbench_accounts WHERE aid IN (SELECT (1 + random() * (100000 * $SCALE - 1))::int FROM generate_series(1, 200 * $SCALE));
    INSERT INTO pgbench_accounts SELECT aid + 300000 * $SCALE, 1, 0, '' FROM pgbench_accounts WHERE aid <= 1000 * $SCALE" pgbackrest_side
  say "== PostgreSQL restore of the mixed day's differential: exact"
  "$DBOPSD" verify -q --config "$LOCAL" --database bench --target scratch >"$OUT/verify-pg.txt" 2>/dev/null
  head -3 "$OUT/verify-pg.txt" | tee -a "$RESULTS"

  if [ "$ONLY" != pgrows ]; then
  say "== check --read-data (every chunk of the local repository)"
  REPO_BYTES=$(du -sb "$OUT/repo-pg/data" | cut -f1)
  measure "dbopsd check --read-data" "$DBOPSD" check -q --config "$LOCAL" --read-data
  say "   $(awk -v b="$REPO_BYTES" -v s="${WALL[dbopsd check --read-data]}" 'BEGIN{printf "%.0f MiB/s of stored chunks", b/1048576/s}')"

  say "== PostgreSQL restore of the newest backup, into a new database (median of $RUNS rounds)"
  rounds "pg_restore -j2" "'$PGBIN/psql' -Xq -d postgres -c 'DROP DATABASE IF EXISTS restored_pg' -c 'CREATE DATABASE restored_pg' && '$PGBIN/pg_restore' -j2 -d restored_pg '$OUT/dump.dir'" \
    "dbopsd restore (local)" "'$DBOPSD' restore -q --config '$LOCAL' --database bench --target scratch --as restored_dbopsd --replace" \
    "dbopsd restore (MinIO)" "'$DBOPSD' restore -q --config '$MINIOCFG' --database bench --target scratch --as restored_dbopsd --replace"
  say "   dbopsd / pg_restore -j2: local $(ratio 'dbopsd restore (local)' 'pg_restore -j2'), MinIO $(ratio 'dbopsd restore (MinIO)' 'pg_restore -j2') (aim <= 1.1x)"

  say "== dbopsd diagnose on the pgbench database: wall time and peak RSS of the whole process (aim < 100 MiB)"
  measure "dbopsd diagnose daily" "$DBOPSD" diagnose -q --config "$LOCAL" --database bench --level daily
  measure "dbopsd diagnose monthly" "$DBOPSD" diagnose -q --config "$LOCAL" --database bench --level monthly
  fi
fi

if [ "$ONLY" = all ] || [ "$ONLY" = mysql ] || [ "$ONLY" = mysqlrows ]; then
  MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  MY=$WORK/mariadb; mkdir -p "$MY"; myuser=()
  if [ "$(id -u)" = 0 ]; then chown mysql: "$MY"; myuser=(--user=mysql); fi
  myport=$(freeport)
  mariadb-install-db --no-defaults "${myuser[@]}" --datadir="$MY/data" --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
  "$MARIADBD" --no-defaults "${myuser[@]}" --datadir="$MY/data" --port=$myport --bind-address=127.0.0.1 --socket="$MY/sock" \
    --skip-name-resolve --innodb-buffer-pool-size=1G --innodb-log-file-size=512M --log-bin="$MY/binlog" --server-id=1 \
    --max-allowed-packet=256M >"$MY/server.log" 2>&1 &
  PIDS+=($!)
  my() { mariadb --default-character-set=utf8mb4 --socket="$MY/sock" -uroot "$@"; }
  for _ in $(seq 150); do my -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
  my -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; CREATE DATABASE bench; CREATE DATABASE restored_dump;"
  say "== MariaDB: a table of $MYROWS rows (ids, Chinese names, timestamps, text)"
  my bench -e "CREATE TABLE applications (id BIGINT PRIMARY KEY, name VARCHAR(32) NOT NULL, item VARCHAR(64) NOT NULL,
      created_at DATETIME(6) NOT NULL, state TINYINT NOT NULL, note TEXT, KEY (created_at)) DEFAULT CHARSET utf8mb4;
    INSERT INTO applications SELECT seq, CONCAT(ELT(1 + seq % 8, '张','王','李','赵','刘','陈','杨','黄'), '某', seq % 1000),
      ELT(1 + seq % 4, '个体工商户设立登记','社会保障卡申领','不动产首次登记','住房公积金提取'),
      TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, seq % 5,
      CONCAT('申请材料：身份证、申请表；经办窗口 ', seq % 40, ' 号；备注 ', MD5(seq), ' ', SHA1(seq))
    FROM seq_1_to_$MYROWS;"
  my bench -e "ANALYZE TABLE applications" >/dev/null
  say "   table size: $(my -N -e "SELECT CONCAT(ROUND((data_length + index_length) / 1048576), ' MiB') FROM information_schema.tables WHERE table_schema = 'bench'")"
  MYCFG=$OUT/mysql-local.hcl
  policy "$MYCFG" "$(local_storage "$OUT/repo-mysql")" "database \"bench\" {
  engine = \"mariadb\"
  dsn    = \"root@tcp(127.0.0.1:$myport)/bench\"
  policy = \"p\"
}
restore_target \"scratch\" {
  engine        = \"mariadb\"
  dsn           = \"root@tcp(127.0.0.1:$myport)/\"
  scratch       = true
  allow_restore = true
}"
  "$DBOPSD" repo init --config "$MYCFG" >/dev/null

  mysqlrun() { my bench -e "$1"; }
  ROW_SETTLE=
  # The issue's case first: the table as loaded, then 1 % updated, against its own full.
  say "== MariaDB differential after updating 1% of rows at random (its own full)"
  rowcase "1% updated (MariaDB)" "$MYCFG" mysqlrun "CREATE TEMPORARY TABLE pick AS SELECT DISTINCT FLOOR(1 + RAND() * $MYROWS) AS id FROM seq_1_to_$((MYROWS / 100));
    UPDATE applications a JOIN pick USING (id) SET a.state = a.state + 1"

  if [ "$ONLY" != mysqlrows ]; then
  say "== MariaDB full backup"
  shellmeasure "client: every row to /dev/null" "mariadb --socket='$MY/sock' -uroot --quick -N bench -e 'SELECT * FROM applications' >/dev/null"
  shellmeasure "mariadb-dump | zstd -3 -T2" "mariadb-dump --socket='$MY/sock' -uroot --single-transaction bench | zstd -q -3 -T2 > '$OUT/dump.sql.zst'"
  measure "dbopsd backup (MariaDB, local)" "$DBOPSD" backup -q --config "$MYCFG" --database bench --type full
  MFULL=$(stored "$MYCFG")
  say "   dbopsd / mariadb-dump|zstd: $(ratio 'dbopsd backup (MariaDB, local)' 'mariadb-dump | zstd -3 -T2') (aim <= 1.1x); stored: dbopsd $(mib "$MFULL"), mariadb-dump|zstd $(mib "$(stat -c %s "$OUT/dump.sql.zst")")"

  fi
  say "== MariaDB differential after +2% rows (its own full; mariabackup incremental: 93 MB)"
  rowcase "+2% appended (MariaDB)" "$MYCFG" mysqlrun "INSERT INTO applications SELECT id + $MYROWS, name, item, created_at, state, note FROM applications WHERE id <= $MYROWS / 50"
  say "== MariaDB mixed day: 0.5% updated, 0.2% deleted, 1% inserted"
  rowcase "mixed day (MariaDB)" "$MYCFG" mysqlrun "CREATE TEMPORARY TABLE pick AS SELECT DISTINCT FLOOR(1 + RAND() * $MYROWS) AS id FROM seq_1_to_$((MYROWS / 200));
    UPDATE applications a JOIN pick USING (id) SET a.state = a.state + 1;
    CREATE TEMPORARY TABLE gone AS SELECT DISTINCT FLOOR(1 + RAND() * $MYROWS) AS id FROM seq_1_to_$((MYROWS / 500));
    DELETE a FROM applications a JOIN gone USING (id);
    INSERT INTO applications SELECT id + 3 * $MYROWS, name, item, created_at, state, note FROM applications WHERE id <= $MYROWS / 100"
  "$DBOPSD" verify -q --config "$MYCFG" --database bench --target scratch >"$OUT/verify-mysql.txt" 2>/dev/null
  head -3 "$OUT/verify-mysql.txt" | tee -a "$RESULTS"

  if [ "$ONLY" != mysqlrows ]; then
  say "== MariaDB restore"
  shellmeasure "zstd -d | mariadb (plain dump)" "zstd -q -dc '$OUT/dump.sql.zst' | mariadb --socket='$MY/sock' -uroot restored_dump"
  measure "dbopsd restore (MariaDB, local)" "$DBOPSD" restore -q --config "$MYCFG" --database bench --target scratch --as restored_dbopsd --replace
  say "   mariadb < dump / dbopsd: $(ratio 'zstd -d | mariadb (plain dump)' 'dbopsd restore (MariaDB, local)') faster (aim >= 2x)"
  fi
fi
say "== results in $RESULTS"
