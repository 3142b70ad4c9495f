#!/usr/bin/env bash
# `make bench`: Go benchmarks, then dbopsd side by side with pg_dump and
# pg_restore on a pgbench database, printing wall-time ratios and peak RSS.
# BENCH_SCALE sets the pgbench scale (default 100, about 1.5 GB); use
# BENCH_SCALE=10 for a quick look. Results are also written to
# $BENCH_DIR/results.txt (default ./bench-out).
set -euo pipefail
cd "$(dirname "$0")/.."
DBOPSD=$PWD/bin/dbopsd
SCALE=${BENCH_SCALE:-100}
OUT=$(realpath -m "${BENCH_DIR:-bench-out}")
rm -rf "$OUT"; mkdir -p "$OUT"
RESULTS=$OUT/results.txt
say() { echo "$*" | tee -a "$RESULTS"; }

say "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
say "== Go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime 3x ./repository/ ./engines/... 2>&1 | grep -E '^(Benchmark|ok|PASS|FAIL)' | tee -a "$RESULTS"

PGBIN=${DBOPS_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
WORK=$(mktemp -d /tmp/dbopsd-bench.XXXXXX)
AS=(); if [ "$(id -u)" = 0 ]; then chown postgres: "$WORK"; chmod 755 "$WORK"; AS=(runuser -u postgres --); fi
port=$((20000 + RANDOM % 10000)); while (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
mport=$((port + 100)); while (echo >/dev/tcp/127.0.0.1/$mport) 2>/dev/null; do mport=$((mport + 1)); done
MINIO_PID=
cleanup() {
  [ -n "$MINIO_PID" ] && kill "$MINIO_PID" 2>/dev/null
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $port -k $WORK -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
"$PGBIN/psql" -Xq -d postgres -c "CREATE DATABASE bench"
say "== pgbench -i -s $SCALE"
"$PGBIN/pgbench" -q -i -s "$SCALE" bench 2>&1 | tail -1
say "   database size: $("$PGBIN/psql" -XAt -d bench -c "SELECT pg_size_pretty(pg_database_size('bench'))")"

MINIO=$(command -v minio || echo "$(go env GOPATH)/bin/minio")
mkdir -p "$OUT/minio-data"
MINIO_ROOT_USER=benchadmin MINIO_ROOT_PASSWORD=benchadmin-secret MINIO_BROWSER=off \
  "$MINIO" server "$OUT/minio-data" --address "127.0.0.1:$mport" --console-address "127.0.0.1:$((mport + 1))" >"$OUT/minio.log" 2>&1 &
MINIO_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mport/minio/health/live" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "benchadmin:benchadmin-secret" -X PUT "http://127.0.0.1:$mport/bench" >/dev/null

export BENCH_PASS=bench-passphrase BENCH_S3_ACCESS=benchadmin BENCH_S3_SECRET=benchadmin-secret
policy() { # $1 = name, $2 = storage block
cat >"$OUT/$1.hcl" <<HCL
daemon { state_dir = "$OUT/state-$1" }
$2
repository {
  storage    = "repo"
  passphrase = env("BENCH_PASS")
}
policy "p" {
  full = "monthly"
  differential = "weekly"
  parallel = 2
}
database "bench" {
  engine = "postgres"
  dsn    = "postgres://postgres@127.0.0.1:$port/bench"
  policy = "p"
}
restore_target "scratch" {
  engine        = "postgres"
  dsn           = "postgres://postgres@127.0.0.1:$port/postgres"
  scratch       = true
  allow_restore = true
}
HCL
}
policy local "storage \"repo\" {
  type = \"local\"
  path = \"$OUT/repo-local\"
}"
policy minio "storage \"repo\" {
  type       = \"s3\"
  endpoint   = \"127.0.0.1:$mport\"
  bucket     = \"bench\"
  access_key = env(\"BENCH_S3_ACCESS\")
  secret_key = env(\"BENCH_S3_SECRET\")
}"
"$DBOPSD" repo init --config "$OUT/local.hcl" >/dev/null
"$DBOPSD" repo init --config "$OUT/minio.hcl" >/dev/null

declare -A WALL RSS
# measure LABEL CMD...: wall seconds and peak RSS (KiB) of CMD.
measure() {
  local label=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local f=${label//[^a-zA-Z0-9]/_}
  /usr/bin/time -f '%e %M' -o "$OUT/time.$f" "$@" >"$OUT/out.$f" 2>&1 || { echo "$label failed:"; tail "$OUT/out.$f"; exit 1; }
  local w r; read -r w r <"$OUT/time.$f"; WALL[$label]=$w; RSS[$label]=$r
  say "$(printf '   %-34s %7.1f s  peak RSS %6d MiB' "$label" "${WALL[$label]}" $(( ${RSS[$label]} / 1024 )))"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
ratio() { awk -v a="${WALL[$1]}" -v b="${WALL[$2]}" 'BEGIN { printf "%.2fx", a / b }'; }
stored() { "$DBOPSD" list --config "$OUT/$1.hcl" --json | python3 -c 'import json,sys; b=json.load(sys.stdin)["backups"]; print(b[-1]["stored_bytes"])'; }

say "== full backup"
measure "pg_dump -Fc" "$PGBIN/pg_dump" -Fc -f "$OUT/dump.custom" bench
measure "pg_dump -Fd -j2 -Z0" "$PGBIN/pg_dump" -Fd -j2 -Z0 -f "$OUT/dump.dir" bench
measure "dbopsd backup (local)" "$DBOPSD" backup -q --config "$OUT/local.hcl" --database bench --type full
measure "dbopsd backup (MinIO)" "$DBOPSD" backup -q --config "$OUT/minio.hcl" --database bench --type full
FULL=$(stored local)
say "   dbopsd/pg_dump -Fd -j2 -Z0: local $(ratio 'dbopsd backup (local)' 'pg_dump -Fd -j2 -Z0'), MinIO $(ratio 'dbopsd backup (MinIO)' 'pg_dump -Fd -j2 -Z0') (aim <= 1.2x)"
say "   stored: dbopsd $(mib $FULL), pg_dump -Fc $(mib $(stat -c %s "$OUT/dump.custom")), pg_dump -Fd -Z0 $(mib $(du -sb "$OUT/dump.dir" | cut -f1))"

say "== differential after +2% rows"
"$PGBIN/psql" -Xq -d bench -c "INSERT INTO pgbench_accounts SELECT aid + 100000 * $SCALE, 1, 0, '' FROM pgbench_accounts WHERE aid <= 2000 * $SCALE"
measure "dbopsd differential +2% (local)" "$DBOPSD" backup -q --config "$OUT/local.hcl" --database bench --type differential
D2=$(stored local)
say "   stored $(mib $D2) = $(awk -v a=$D2 -v b=$FULL 'BEGIN{printf "%.1f", 100*a/b}')% of the full (aim <= 10%; pgBackRest: 30%)"

say "== differential after updating 1% of rows at random"
"$PGBIN/psql" -Xq -d bench -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid IN (SELECT (random() * 100000 * $SCALE)::int FROM generate_series(1, 1000 * $SCALE))"
measure "dbopsd differential 1% upd (local)" "$DBOPSD" backup -q --config "$OUT/local.hcl" --database bench --type differential
D3=$(stored local)
say "   stored $(mib $D3) = $(awk -v a=$D3 -v b=$FULL 'BEGIN{printf "%.1f", 100*a/b}')% of the full"

say "== check --read-data"
measure "dbopsd check --read-data" "$DBOPSD" check -q --config "$OUT/local.hcl" --read-data
say "   $(awk -v b=$FULL -v s="${WALL[dbopsd check --read-data]}" 'BEGIN{printf "%.0f MiB/s of stored data (all backups)", b/1048576/s}')"

say "== restore"
"$PGBIN/psql" -Xq -d postgres -c "CREATE DATABASE restored_pg"
measure "pg_restore -j2" "$PGBIN/pg_restore" -j2 -d restored_pg "$OUT/dump.dir"
measure "dbopsd restore (local)" "$DBOPSD" restore -q --config "$OUT/local.hcl" --database bench --target scratch --as restored_dbopsd --replace
measure "dbopsd restore (MinIO)" "$DBOPSD" restore -q --config "$OUT/minio.hcl" --database bench --target scratch --as restored_dbopsd --replace
say "   dbopsd/pg_restore -j2: local $(ratio 'dbopsd restore (local)' 'pg_restore -j2'), MinIO $(ratio 'dbopsd restore (MinIO)' 'pg_restore -j2') (aim <= 1.1x)"
say "== results in $RESULTS"
