package reconcile_test

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mysql"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/reconcile"
)

func uniqueName(purpose string) string {
	var b [4]byte
	rand.Read(b[:])
	return "rc_" + purpose + "_" + hex.EncodeToString(b[:])
}

// The same interface data on both engines, typed each engine's way: the
// amounts at a different scale (equal values), timestamptz against
// TIMESTAMP, boolean against TINYINT(1), bytea against VARBINARY, and a
// floating-point column that cannot be compared exactly.

const pgTable = `CREATE TABLE public.persons (
	id bigint PRIMARY KEY,
	name varchar(100) NOT NULL,
	amount numeric(12,2),
	created timestamp(6) NOT NULL,
	updated timestamptz NOT NULL,
	active boolean NOT NULL,
	note text,
	born date,
	payload bytea,
	score double precision
);
INSERT INTO public.persons
SELECT id, 'name-' || id, round(id * 1.25, 2),
	timestamp '2024-01-01' + id * interval '1 second' + (id % 1000) * interval '1 microsecond',
	timestamptz '2024-06-01 00:00:00+00' + id * interval '1 minute',
	id % 3 = 0,
	CASE WHEN id % 10 = 0 THEN NULL ELSE 'n' || id END,
	date '1970-01-01' + (id % 20000)::int,
	decode(md5(id::text), 'hex'),
	id / 7.0
FROM generate_series(1, {rows}) AS id;
UPDATE public.persons SET name = '张三' WHERE id = 1200;
ANALYZE public.persons;`

const myTable = `SET time_zone = '+00:00';
CREATE TABLE persons (
	id bigint PRIMARY KEY,
	name varchar(100) NOT NULL,
	amount decimal(14,3),
	created datetime(6) NOT NULL,
	updated timestamp(6) NOT NULL,
	active tinyint(1) NOT NULL,
	note text,
	born date,
	payload varbinary(64),
	score double
) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
INSERT INTO persons
SELECT seq, CONCAT('name-', seq), ROUND(seq * 1.25, 2),
	TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL (seq % 1000) MICROSECOND,
	TIMESTAMP('2024-06-01') + INTERVAL seq MINUTE,
	seq % 3 = 0,
	IF(seq % 10 = 0, NULL, CONCAT('n', seq)),
	DATE('1970-01-01') + INTERVAL (seq % 20000) DAY,
	UNHEX(MD5(seq)),
	seq / 7.0
FROM seq_1_to_{rows};
UPDATE persons SET name = '张三' WHERE id = 1200;`

// planted are the 17 differences the right (MariaDB) side gets, by kind,
// and the statements that plant them.
var planted = struct {
	missingLeft, missingRight []string
	different                 map[string][]string
	sql                       string
}{
	missingLeft:  []string{"20001", "20002"},
	missingRight: []string{"404", "405"},
	different: map[string][]string{
		"101":  {"created"}, // one microsecond later
		"202":  {"name"},    // a trailing space
		"300":  {"note"},    // '' where the left has NULL
		"505":  {"amount"},  // one cent more
		"606":  {"active"},  // flipped
		"707":  {"born"},    // a day later
		"808":  {"payload"}, // one byte changed
		"909":  {"note"},    // upper case
		"1001": {"updated"}, // an hour off: a time zone mistake
		"1212": {"name"},    // another Chinese character
		"1310": {"note"},    // the text 'NULL' where the left has NULL
		"1414": {"amount"},  // 0 where the left has NULL
		"1515": {"name", "amount"},
	},
	sql: `SET time_zone = '+00:00';
UPDATE persons SET created = created + INTERVAL 1 MICROSECOND WHERE id = 101;
UPDATE persons SET name = CONCAT(name, ' ') WHERE id = 202;
UPDATE persons SET note = '' WHERE id = 300;
DELETE FROM persons WHERE id IN (404, 405);
UPDATE persons SET amount = amount + 0.01 WHERE id = 505;
UPDATE persons SET active = 1 - active WHERE id = 606;
UPDATE persons SET born = born + INTERVAL 1 DAY WHERE id = 707;
UPDATE persons SET payload = CONCAT(LEFT(payload, 15), 'x') WHERE id = 808;
UPDATE persons SET note = UPPER(note) WHERE id = 909;
UPDATE persons SET updated = updated + INTERVAL 1 HOUR WHERE id = 1001;
UPDATE persons SET name = '张四' WHERE id = 1212;
UPDATE persons SET note = 'NULL' WHERE id = 1310;
UPDATE persons SET amount = 0 WHERE id = 1414;
UPDATE persons SET name = 'someone else', amount = amount * 2 WHERE id = 1515;
INSERT INTO persons SELECT id + 20000, name, amount, created, updated, active, note, born, payload, score FROM persons WHERE id IN (1, 2);`,
}

// pgSide creates the table with rows rows in a new PostgreSQL database.
func pgSide(t testing.TB, rows int) reconcile.Side {
	t.Helper()
	pg := harness.SourcePostgres(t)
	name := uniqueName("pg")
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	pg.Exec(t, name, strings.ReplaceAll(pgTable, "{rows}", strconv.Itoa(rows)))
	// The left table has a NULL where the right gets 0 (1414).
	pg.Exec(t, name, "UPDATE public.persons SET amount = NULL WHERE id = 1414")
	return reconcile.Side{Engine: postgres.New(), Conn: engines.Conn{DSN: pg.DSN(name)}, Database: name,
		Table: engines.TableRef{Schema: "public", Name: "persons"}}
}

// mySide creates the table with rows rows in a new MariaDB database.
func mySide(t testing.TB, rows int) (reconcile.Side, func(sql string)) {
	t.Helper()
	m := harness.SourceMariaDB(t)
	name := uniqueName("my")
	m.Exec(t, "", "CREATE DATABASE "+name)
	t.Cleanup(func() { m.Exec(t, "", "DROP DATABASE IF EXISTS "+name) })
	m.Exec(t, name, strings.ReplaceAll(myTable, "{rows}", strconv.Itoa(rows)))
	m.Exec(t, name, "SET time_zone = '+00:00'; UPDATE persons SET amount = NULL WHERE id = 1414")
	return reconcile.Side{Engine: mysql.New(), Conn: engines.Conn{DSN: m.DSN(name)}, Database: name,
		Table: engines.TableRef{Name: "persons"}}, func(sql string) { m.Exec(t, name, sql) }
}
