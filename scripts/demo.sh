#!/usr/bin/env bash
# `make demo`: the main job of dbopsd on throwaway servers, told as a short
# story. Starts a throwaway PostgreSQL filled with service-hall data (and a
# MariaDB with the rating database when MariaDB is installed), backs them up
# into a local repository (full, then differential after a day's changes),
# verifies the backups, restores a database and a single table under other
# names, runs a signed restore drill through the agent and keeps its HTML
# report, checks the repository and shows the job log.
#
# What stays under $DEMO_DIR (default ./demo-out): the policy file, the
# encrypted repository, the catalog with the job log, the drill reports, the
# SSH keys of the demo's two signers and dbopsd's own log lines
# (dbopsd.log, agent.log). The throwaway servers, and the databases restored
# onto them, are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DBOPSD=${DBOPSD:-$PWD/bin/dbopsd}
OUT=$(realpath -m "${DEMO_DIR:-demo-out}")
LOG=$OUT/dbopsd.log
n=0
step() { n=$((n + 1)); printf '\n\033[1m%d. %s\033[0m\n' "$n" "$*"; }
say() { printf '   %s\n' "$*"; }
# d runs dbopsd: its result indented under the step, its log lines (every
# INFO line repeats the database, backup and target) into dbopsd.log.
d() {
  local out
  if ! out=$("$DBOPSD" "$@" 2>>"$LOG"); then
    printf '%s\n' "$out"
    echo "dbopsd $* failed; the end of $LOG:"
    tail -15 "$LOG"
    exit 1
  fi
  [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/   /'
}
# field prints the value of "key" in the first JSON object on stdin that has it.
field() { grep -o "\"$1\": *[^,}]*" | head -1 | sed 's/^[^:]*: *//; s/"//g'; }
size() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MiB", b / 1048576; else printf "%.1f KiB", b / 1024 }'; }

PGBIN=${DBOPS_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found: run 'make demo-deps' (as root) or set DBOPS_PG_BIN"; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/dbopsd-demo.XXXXXX)
PGDATA=$TMP/pg
mkdir -p "$PGDATA"
AS=()
if [ "$(id -u)" = 0 ]; then chmod 755 "$TMP"; chown postgres: "$PGDATA"; AS=(runuser -u postgres --); fi
# as_pg runs a server program as postgres from a directory postgres may
# enter (runuser keeps the working directory: from a 0700 one, such as
# root's home, every call would begin "could not change directory").
as_pg() { (cd "$PGDATA" && "${AS[@]}" "$@"); }
port=$((20000 + RANDOM % 10000)); while (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
MARIADBD=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
MY_PID= AGENT_PID=
cleanup() {
  [ -n "$AGENT_PID" ] && { kill "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null || true; }
  [ -n "$MY_PID" ] && { kill "$MY_PID" 2>/dev/null; wait "$MY_PID" 2>/dev/null || true; }
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
START=$SECONDS

step "A throwaway PostgreSQL server, with the service hall's database"
as_pg "$PGBIN/initdb" -D "$PGDATA/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$OUT/initdb.log" 2>&1
as_pg "$PGBIN/pg_ctl" -D "$PGDATA/data" -l "$PGDATA/server.log" -w \
  -o "-p $port -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
  { echo "PostgreSQL did not start:"; tail -20 "$PGDATA/server.log"; exit 1; }
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE hall"
psql -d hall -f scripts/sample-hall.sql
say "PostgreSQL $(psql -d hall -At -c 'SHOW server_version' | cut -d' ' -f1) on 127.0.0.1:$port, database hall:" \
  "$(psql -d hall -At -c "SELECT string_agg(relname || ' ' || n_live_tup, ', ' ORDER BY relname) FROM pg_stat_user_tables") rows"

MYSQL_BLOCKS=
my() { mariadb --default-character-set=utf8mb4 --socket="$MYDIR/mysqld.sock" -uroot "$@"; }
if [ -n "$MARIADBD" ] && command -v mariadb-install-db >/dev/null; then
  myport=$((port + 1)); while (echo >/dev/tcp/127.0.0.1/$myport) 2>/dev/null; do myport=$((myport + 1)); done
  step "A throwaway MariaDB server, with the 好差评 (rating) database"
  MYDIR=$TMP/mariadb; mkdir -p "$MYDIR"
  myuser=(); if [ "$(id -u)" = 0 ]; then chown mysql: "$MYDIR"; myuser=(--user=mysql); fi
  (cd "$MYDIR" && mariadb-install-db --no-defaults "${myuser[@]}" --datadir="$MYDIR/data" --auth-root-authentication-method=normal --skip-test-db) >"$OUT/mariadb-install.log" 2>&1
  (cd "$MYDIR" && exec "$MARIADBD" --no-defaults "${myuser[@]}" --datadir="$MYDIR/data" --port=$myport --bind-address=127.0.0.1 \
    --socket="$MYDIR/mysqld.sock" --skip-name-resolve --log-bin="$MYDIR/binlog" --server-id=1) >"$MYDIR/server.log" 2>&1 &
  MY_PID=$!
  for _ in $(seq 100); do my -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
  my <<SQL
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE rating DEFAULT CHARACTER SET utf8mb4;
SQL
  my rating < scripts/sample-rating.sql
  say "MariaDB $(my -N -e 'SELECT VERSION()' | cut -d- -f1) on 127.0.0.1:$myport, database rating: evaluations $(my -N rating -e 'SELECT count(*) FROM evaluations') rows"
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

# Two signers for the drill: a DBA who asks, an approver who approves.
mkdir -m 700 "$OUT/keys"
for who in zhang.wei wang.fang; do ssh-keygen -q -t ed25519 -N '' -C "$who" -f "$OUT/keys/$who"; done

export DEMO_REPO_PASSPHRASE=${DEMO_REPO_PASSPHRASE:-demo-only-passphrase}
cat >"$OUT/dbopsd.hcl" <<HCL
# Policy written by scripts/demo.sh. See config.hcl for a complete sample.
daemon {
  state_dir = "$OUT/state"
  socket    = "$TMP/dbopsd.sock"
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
signer "zhang.wei" {
  public_key = "$(cat "$OUT/keys/zhang.wei.pub")"
  roles      = ["dba"]
}
signer "wang.fang" {
  public_key = "$(cat "$OUT/keys/wang.fang.pub")"
  roles      = ["approver"]
}
approvals {
  drill = 1
}
$MYSQL_BLOCKS
HCL
export DBOPS_CONFIG="$OUT/dbopsd.hcl"

step "Write the policy file and check it: dbopsd config validate"
d config validate

step "Create the encrypted repository: dbopsd repo init"
d repo init

step "Back up hall in full: dbopsd backup --type full"
d backup --database hall --type full

step "A day at the service hall"
psql -d hall <<'SQL'
SET search_path = hall;
INSERT INTO tickets (ticket_no, service, window_id, citizen, issued_at, status)
SELECT 'N' || g, '社保查询', 1 + g % 40, '市民新' || g, now(), '办理中' FROM generate_series(1, 6000) g;
UPDATE applications SET state = '办结' WHERE id % 500 = 0 AND state <> '办结';
INSERT INTO ratings (ticket_id, score, comment, rated_at) SELECT g, 5, '非常满意', now() FROM generate_series(1, 2000) g;
SQL
say "6000 new queue tickets, $(psql -d hall -At -c "SELECT count(*) FROM hall.applications WHERE id % 500 = 0") applications finished (办结), 2000 new ratings"

step "Back up only what changed since the full: dbopsd backup --type differential"
d backup --database hall --type differential

step "Prove the newest backup restorable: dbopsd verify"
say "(restore into a scratch database, compare every table's rows and checksums, pg_amcheck, drop it)"
d verify --database hall --target scratch

step "Restore hall under another name: dbopsd restore --as hall_restored"
d restore --database hall --target scratch --as hall_restored --replace
a=$(psql -d hall -At -c "SELECT count(*) FROM hall.tickets")
b=$(psql -d hall_restored -At -c "SELECT count(*) FROM hall.tickets")
say "tickets: $a in hall, $b in hall_restored"
[ "$a" = "$b" ]

step "Restore one table: dbopsd restore --table hall.ratings --as hall_ratings_only"
d restore --database hall --target scratch --as hall_ratings_only --table hall.ratings --replace

if [ -n "$MYSQL_BLOCKS" ]; then
  step "MariaDB: back up rating in full"
  d backup --database rating --type full
  step "MariaDB: 2000 new ratings from the mobile app, then a differential"
  my rating -e "INSERT INTO evaluations (dept_id, channel, score, comment, rated_at) SELECT dept_id, '移动端', 5, '办事很快 🎉', NOW(6) FROM evaluations LIMIT 2000"
  d backup --database rating --type differential
  step "MariaDB: verify (restore, compare, CHECK TABLE ... EXTENDED, drop)"
  d verify --database rating --target scratch-mysql
  step "MariaDB: restore rating as rating_restored"
  d restore --database rating --target scratch-mysql --as rating_restored --replace
  a=$(my -N -e "SELECT count(*) FROM rating.evaluations")
  b=$(my -N -e "SELECT count(*) FROM rating_restored.evaluations")
  say "evaluations: $a in rating, $b in rating_restored"
  [ "$a" = "$b" ]
fi

step "A restore drill, asked for and approved with SSH signatures, run by the agent"
"$DBOPSD" agent >"$OUT/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do [ -S "$TMP/dbopsd.sock" ] && break; sleep 0.1; done
REQ=$OUT/drill-request.json
d request new drill --database hall --target scratch --reason "季度恢复演练（演示）" -o "$REQ"
d request sign --key "$OUT/keys/zhang.wei" "$REQ"
d request approve --key "$OUT/keys/wang.fang" "$REQ"
DRILL=$("$DBOPSD" request submit "$REQ" 2>>"$LOG")
say "submitted to the agent as $DRILL; zhang.wei asked, wang.fang approved"
"$DBOPSD" request status "$DRILL" --follow --poll 500ms >/dev/null 2>>"$LOG" ||
  { echo "the drill did not pass:"; "$DBOPSD" request status "$DRILL"; tail -20 "$OUT/agent.log"; exit 1; }
"$DBOPSD" drill report "$DRILL" --lang en 2>>"$LOG" | grep -E '^(drill |  (restore|checks|total) )' | sed 's/^/   /'
d drill report "$DRILL" --html "$OUT/drill-report.html"
"$DBOPSD" drill report "$DRILL" --html "$OUT/drill-report.en.html" --lang en 2>>"$LOG" >/dev/null
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=

step "Read back every chunk of every backup: dbopsd check --read-data"
d check --read-data

step "The job log (备份日志): dbopsd log"
d log

step "The monthly diagnosis (每月全面诊断): dbopsd diagnose --level monthly --save"
# Saved, so the report below has its findings; the page is for the DBA.
d diagnose --database hall --level monthly --save --html "$OUT/diagnosis-hall.html" | head -12
say "the page: $OUT/diagnosis-hall.html"

step "The data dictionary (数据字典): dbopsd dict --format html,xlsx,md"
d dict --database hall --format html,xlsx,md --out "$OUT/dictionary" | tail -4

step "The month's report (每月运行状况报告): dbopsd report monthly"
# The current month: the demo's backups are from today (the default, the
# last complete month, would say it has no data). The charts need the Noto
# Sans CJK font, which only make test installs.
if [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
  d report monthly --month "$(date +%Y-%m)" --out "$OUT/report"
  if command -v chromium >/dev/null; then
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$TMP/chromium-profile" \
      --window-size=800,1500 --screenshot="$OUT/report/report-monthly.png" "file://$OUT/report/report.html" >/dev/null 2>&1 &&
      say "a screenshot of its first page: $OUT/report/report-monthly.png"
  fi
else
  say "not written: the report's charts need the Noto Sans CJK font (Debian: fonts-noto-cjk; make test-deps installs it)"
fi

# The figures, from the job log: kind, database, duration, bytes.
csv=$("$DBOPSD" log --csv 2>>"$LOG")
job() { # job KIND DATABASE N FIELD: FIELD (duration|bytes) of the N-th ok job of that kind
  awk -F, -v k="$1" -v db="$2" -v n="$3" -v f="$4" '$2 == k && $3 == db && $13 == "ok" && ++i == n { if (f == "duration") printf "%.1fs\n", $11; else print $12; exit }' <<<"$csv"
}
full=$(job backup hall 1 bytes) diff=$(job backup hall 2 bytes)
raw=$("$DBOPSD" list --database hall --json 2>>"$LOG" | field raw_bytes)

step "Done in $((SECONDS - START)) s"
drill=$("$DBOPSD" drill list 2>>"$LOG" | awk -v id="$DRILL" '$1 == id { print "in " $(NF-2) " (" $(NF-1) " with its checks, verdict " $NF ")" }')
say "hall:     $(size "$raw") of data; the full stored $(size "$full") (compressed, encrypted), the differential"
say "          $(size "$diff"), $(awk -v a="$diff" -v b="$full" 'BEGIN { printf "%d%%", 100 * a / b + 0.5 }') of the full"
say "          recovery time (RTO) measured: the drill restored it $drill;"
say "          as hall_restored in $(job restore hall 1 duration); one table in $(job restore hall 2 duration)"
if [ -n "$MYSQL_BLOCKS" ]; then
  say "rating:   full $(size "$(job backup rating 1 bytes)"), differential $(size "$(job backup rating 2 bytes)")," \
    "restored whole in $(job restore rating 1 duration)"
fi
say "restored: hall_restored, hall_ratings_only${MYSQL_BLOCKS:+ and rating_restored} were checked on the throwaway"
say "          servers and went with them; the verifications and the drill dropped their copies"
say ""
say "In $OUT:"
say "  dbopsd.hcl               the policy file"
say "  repository/              the encrypted repository ($(du -sh "$OUT/repository" | cut -f1))"
say "  state/catalog.db         the catalog and the job log"
say "  drill-report.html        the drill report (灾难恢复演练报告; drill-report.en.html in English)"
say "  diagnosis-hall.html      the monthly diagnosis of hall (每月全面诊断)"
say "  dictionary/              hall's data dictionary (数据字典): HTML, xlsx, Markdown"
[ -f "$OUT/report/report.html" ] &&
  say "  report/                  the month's report (月报): report.html, its charts and attachments"
say "  dbopsd.log, agent.log    dbopsd's own log lines"
say ""
say "Try: DBOPS_CONFIG=$OUT/dbopsd.hcl DEMO_REPO_PASSPHRASE=$DEMO_REPO_PASSPHRASE $DBOPSD show --database hall"
