package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// The MySQL 8 cases here are the only coverage those code paths get: no
// MySQL server runs on the test machines.

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		v       string
		mariadb bool
		m, n, p int
	}{
		{"10.11.19-MariaDB-0+deb12u1-log", true, 10, 11, 19},
		{"5.5.5-10.6.12-MariaDB", true, 10, 6, 12},
		{"8.0.36", false, 8, 0, 36},
		{"8.4.0-commercial", false, 8, 4, 0},
		{"5.7.44-log", false, 5, 7, 44},
		{"11.4.2-MariaDB", true, 11, 4, 2},
	} {
		s := parseVersion(tc.v)
		if s.MariaDB != tc.mariadb || s.Major != tc.m || s.Minor != tc.n || s.Patch != tc.p {
			t.Errorf("parseVersion(%q) = %+v", tc.v, s)
		}
	}
}

func TestDialect(t *testing.T) {
	maria := parseVersion("10.11.6-MariaDB")
	maria105 := parseVersion("10.5.20-MariaDB")
	my80 := parseVersion("8.0.36")
	my84 := parseVersion("8.4.2")
	my57 := parseVersion("5.7.44")

	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("mariadb gtid", maria.gtidQuery(), "SELECT @@GLOBAL.gtid_binlog_pos")
	check("mysql gtid", my80.gtidQuery(), "SELECT @@GLOBAL.gtid_executed")
	check("mariadb binlog status", maria.binlogStatusQuery(), "SHOW MASTER STATUS")
	check("mysql 8.0 binlog status", my80.binlogStatusQuery(), "SHOW MASTER STATUS")
	check("mysql 8.4 binlog status", my84.binlogStatusQuery(), "SHOW BINARY LOG STATUS")
	check("mariadb hint", maria.selectHint(), "/*!40001 SQL_NO_CACHE */ ")
	check("mysql 5.7 hint", my57.selectHint(), "/*!40001 SQL_NO_CACHE */ ")
	check("mysql 8 hint", my80.selectHint(), "")
	check("mariadb sequences", maria.hasSequences(), true)
	check("mysql sequences", my80.hasSequences(), false)
	check("mysql versioning", my84.hasSystemVersioning(), false)
	check("mariadb 10.11 history", maria.canInsertHistory(), true)
	check("mariadb 10.5 history", maria105.canInsertHistory(), false)
	check("mariadb bulk", maria.bulkLoadsEmptyTables(), true)
	check("mariadb 10.5 bulk", maria105.bulkLoadsEmptyTables(), false)
	check("mysql bulk", my80.bulkLoadsEmptyTables(), false)
	check("mysql local_infile", my80.localInfileDefaultOff(), true)
	check("mysql ftwrl", my80.ftwrlWaitsForReads(), true)
	check("mariadb ftwrl", maria.ftwrlWaitsForReads(), false)
	check("flavor", my80.flavor(), "mysql")
	check("name", maria.String(), "MariaDB 10.11.6")

	mode := "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"
	check("sql_mode on mariadb", maria.sqlModeFor(mode), mode)
	check("sql_mode on mysql 8", my80.sqlModeFor(mode), "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")
	check("empty sql_mode", my80.sqlModeFor(""), "")
}

func TestIsGenerated(t *testing.T) {
	for _, tc := range []struct {
		extra, expr string
		gen, period bool
	}{
		{"", "", false, false},
		{"auto_increment", "", false, false},
		{"VIRTUAL GENERATED", "`a` + 1", true, false},             // MariaDB, MySQL
		{"STORED GENERATED", "`a` * `b`", true, false},            // MariaDB, MySQL
		{"STORED GENERATED, INVISIBLE", "ROW START", false, true}, // MariaDB period column
		{"STORED GENERATED", "ROW END", false, true},
		{"DEFAULT_GENERATED", "", false, false},                             // MySQL 8 expression default: data
		{"DEFAULT_GENERATED on update CURRENT_TIMESTAMP", "", false, false}, // MySQL 8
		{"INVISIBLE", "", false, false},                                     // MariaDB and MySQL 8.0.23+
		{"VIRTUAL GENERATED INVISIBLE", "`a`", true, false},                 // MySQL 8 invisible generated
		{"PERSISTENT GENERATED", "`a`", true, false},                        // MariaDB 10.1
	} {
		if got := isGenerated(tc.extra, tc.expr); got != tc.gen {
			t.Errorf("isGenerated(%q, %q) = %v, want %v", tc.extra, tc.expr, got, tc.gen)
		}
		if got := isPeriodColumn(tc.expr); got != tc.period {
			t.Errorf("isPeriodColumn(%q) = %v", tc.expr, got)
		}
	}
}

func TestSelectQuery(t *testing.T) {
	tb := &table{Name: "t`x", Columns: []string{"id", "c", "row_start", "row_end"}, Generated: []string{"g"}, History: true, keyCol: "id"}
	r := splitKeys(bigInt(1), bigInt(100), 2)[1]
	got := tb.selectQuery(parseVersion("8.0.36"), "db", r)
	want := "SELECT `id`,`c`,`row_start`,`row_end`,`g` FROM `db`.`t``x` FOR SYSTEM_TIME ALL WHERE `id` >= 64"
	if got != want {
		t.Errorf("selectQuery = %q, want %q", got, want)
	}
	if got := tb.selectQuery(parseVersion("10.11.6-MariaDB"), "db", keyRange{}); !strings.HasPrefix(got, "SELECT /*!40001 SQL_NO_CACHE */ `id`") {
		t.Errorf("MariaDB selectQuery = %q", got)
	}
}

func TestLoadDataStatement(t *testing.T) {
	got := loadDataStatement("dbopsd-1", &table{Name: "t", Columns: []string{"a", "b`c"}})
	want := "LOAD DATA LOCAL INFILE 'Reader::dbopsd-1' INTO TABLE `t` CHARACTER SET binary " +
		`FIELDS TERMINATED BY '\t' ENCLOSED BY '' ESCAPED BY '\\' LINES TERMINATED BY '\n' STARTING BY '' ` +
		"(`a`,`b``c`)"
	if got != want {
		t.Errorf("loadDataStatement =\n%s\nwant\n%s", got, want)
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"", "mysql", "information_schema", "PERFORMANCE_SCHEMA", "sys"} {
		if err := checkName(n); !errors.Is(err, fault.ErrPermanent) {
			t.Errorf("checkName(%q) = %v, want a permanent refusal", n, err)
		}
	}
	if err := checkName("hall"); err != nil {
		t.Errorf("checkName(hall) = %v", err)
	}
}
