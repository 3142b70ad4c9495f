package mysql

import (
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/secret"
)

func bigInt(n int64) *big.Int { return big.NewInt(n) }

const mariaCreate = "CREATE TABLE `texts` (\n" +
	"  `id` int(11) NOT NULL AUTO_INCREMENT COMMENT '主键',\n" +
	"  `label` varchar(100) DEFAULT NULL,\n" +
	"  `body` text DEFAULT NULL,\n" +
	"  `text_id` int(11) DEFAULT NULL,\n" +
	"  PRIMARY KEY (`id`),\n" +
	"  UNIQUE KEY `label_u` (`label`),\n" +
	"  KEY `label_idx` (`label`),\n" +
	"  KEY `fk_idx` (`text_id`),\n" +
	"  FULLTEXT KEY `body_ft` (`body`),\n" +
	"  CONSTRAINT `child_text_fk` FOREIGN KEY (`text_id`) REFERENCES `parent` (`id`) ON DELETE CASCADE,\n" +
	"  CONSTRAINT `other_fk` FOREIGN KEY (`text_id`) REFERENCES `elsewhere`.`parent` (`id`),\n" +
	"  CONSTRAINT `CONSTRAINT_1` CHECK (`id` < 1000000)\n" +
	") ENGINE=InnoDB AUTO_INCREMENT=1000 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='x'\n" +
	" PARTITION BY HASH (`id`)\nPARTITIONS 4"

// MySQL 8.0 prints functional key parts, check constraints, invisible
// columns and index options differently.
const mysql8Create = "CREATE TABLE `t` (\n" +
	"  `a` int NOT NULL AUTO_INCREMENT,\n" +
	"  `b` varchar(20) COLLATE utf8mb4_0900_ai_ci DEFAULT NULL /*!80023 INVISIBLE */,\n" +
	"  `c` json DEFAULT NULL,\n" +
	"  `d` datetime DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,\n" +
	"  PRIMARY KEY (`a`),\n" +
	"  KEY `f` ((lower(`b`))),\n" +
	"  KEY `zz` (`a`,`d`),\n" +
	"  KEY `g` (`d` DESC) /*!80000 INVISIBLE */,\n" +
	"  FULLTEXT KEY `ft` (`b`) /*!50100 WITH PARSER `ngram` */ ,\n" +
	"  CONSTRAINT `t_ibfk_1` FOREIGN KEY (`a`) REFERENCES `p` (`id`),\n" +
	"  CONSTRAINT `t_chk_1` CHECK ((`a` > 0))\n" +
	") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"

func TestDeferKeys(t *testing.T) {
	base, alter := deferKeys(mariaCreate, autoIncrementColumn(mariaCreate))
	wantAlter := []string{
		"ADD UNIQUE KEY `label_u` (`label`)",
		"ADD KEY `label_idx` (`label`)",
		"ADD KEY `fk_idx` (`text_id`)",
		"ADD CONSTRAINT `child_text_fk` FOREIGN KEY (`text_id`) REFERENCES `parent` (`id`) ON DELETE CASCADE",
		"ADD CONSTRAINT `other_fk` FOREIGN KEY (`text_id`) REFERENCES `elsewhere`.`parent` (`id`)",
	}
	if !slices.Equal(alter, wantAlter) {
		t.Errorf("MariaDB alter = %q", alter)
	}
	wantBase := "CREATE TABLE `texts` (\n" +
		"  `id` int(11) NOT NULL AUTO_INCREMENT COMMENT '主键',\n" +
		"  `label` varchar(100) DEFAULT NULL,\n" +
		"  `body` text DEFAULT NULL,\n" +
		"  `text_id` int(11) DEFAULT NULL,\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  FULLTEXT KEY `body_ft` (`body`),\n" +
		"  CONSTRAINT `CONSTRAINT_1` CHECK (`id` < 1000000)\n" +
		") ENGINE=InnoDB AUTO_INCREMENT=1000 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='x'\n" +
		" PARTITION BY HASH (`id`)\nPARTITIONS 4"
	if base != wantBase {
		t.Errorf("MariaDB base =\n%s", base)
	}

	if got := autoIncrementColumn(mysql8Create); got != "a" {
		t.Errorf("autoIncrementColumn = %q", got)
	}
	base, alter = deferKeys(mysql8Create, "a")
	wantAlter = []string{
		"ADD KEY `f` ((lower(`b`)))",
		"ADD KEY `g` (`d` DESC) /*!80000 INVISIBLE */",
		"ADD CONSTRAINT `t_ibfk_1` FOREIGN KEY (`a`) REFERENCES `p` (`id`)",
	}
	if !slices.Equal(alter, wantAlter) {
		t.Errorf("MySQL 8 alter = %q", alter)
	}
	for _, keep := range []string{"KEY `zz` (`a`,`d`)", "FULLTEXT KEY `ft`", "CONSTRAINT `t_chk_1` CHECK", "/*!80023 INVISIBLE */"} {
		if !strings.Contains(base, keep) {
			t.Errorf("MySQL 8 base lost %q:\n%s", keep, base)
		}
	}

	// No primary key: unique keys stay (InnoDB clusters on the first).
	noPK := "CREATE TABLE `n` (\n  `a` int NOT NULL,\n  `b` int,\n  UNIQUE KEY `u` (`a`),\n  KEY `k` (`b`)\n) ENGINE=InnoDB"
	base, alter = deferKeys(noPK, "")
	if !slices.Equal(alter, []string{"ADD KEY `k` (`b`)"}) || !strings.Contains(base, "UNIQUE KEY `u`") {
		t.Errorf("no primary key: base %q alter %q", base, alter)
	}
	// A definition the parser does not understand leaves the statement alone.
	odd := "CREATE TABLE `o` (`a` int, KEY (`a`)) ENGINE=InnoDB"
	if base, alter := deferKeys(odd, ""); base != odd || alter != nil {
		t.Errorf("odd statement changed: %q %q", base, alter)
	}
}

func TestDropForeignKeys(t *testing.T) {
	out, dropped := dropForeignKeys(mariaCreate, func(string) bool { return false })
	if len(dropped) != 1 || !strings.Contains(dropped[0], "child_text_fk") {
		t.Fatalf("dropped %q: want only the same-database key", dropped)
	}
	if strings.Contains(out, "child_text_fk") || !strings.Contains(out, "other_fk") {
		t.Errorf("result:\n%s", out)
	}
	if out, dropped := dropForeignKeys(mariaCreate, func(n string) bool { return n == "parent" }); out != mariaCreate || dropped != nil {
		t.Errorf("available table: %q %q", out, dropped)
	}
}

// splitKeys cuts [min, max] into about parts ranges, as a backup's plan
// does without a full's step to follow.
func splitKeys(min, max *big.Int, parts int) []keyRange {
	if parts < 2 || min.Cmp(max) >= 0 {
		return []keyRange{{}}
	}
	return splitAt(min, max, splitStep(min, max, parts))
}

func TestSplitKeys(t *testing.T) {
	rs := splitKeys(bigInt(1), bigInt(3_000_000), 3)
	var got []string
	for _, r := range rs {
		got = append(got, r.where("id"))
	}
	want := []string{"`id` < 1048576", "`id` >= 1048576 AND `id` < 2097152", "`id` >= 2097152"}
	if !slices.Equal(got, want) {
		t.Errorf("splitKeys = %q", got)
	}
	// The same boundaries after 2% growth: parts deduplicate.
	rs2 := splitKeys(bigInt(1), bigInt(3_060_000), 3)
	if len(rs2) != 3 || rs2[1].lo.Cmp(rs[1].lo) != 0 || rs2[2].lo.Cmp(rs[2].lo) != 0 {
		t.Errorf("boundaries moved after growth: %v", rs2)
	}
	// Negative keys and unsigned BIGINT extremes.
	neg := splitKeys(bigInt(-100), bigInt(100), 4)
	if neg[0].lo != nil || neg[len(neg)-1].hi != nil || neg[1].lo.Int64() != -64 {
		t.Errorf("negative split: %v", neg)
	}
	max, _ := new(big.Int).SetString("18446744073709551615", 10)
	if u := splitKeys(bigInt(0), max, 4); len(u) != 4 || u[1].lo.String() != "4611686018427387904" {
		t.Errorf("unsigned split: %v", u)
	}
	if one := splitKeys(bigInt(5), bigInt(5), 10); len(one) != 1 || one[0].where("id") != "" {
		t.Errorf("single key: %v", one)
	}
}

func TestOrderViews(t *testing.T) {
	vs := []object{
		{Name: "a", Create: sqlText("CREATE VIEW `a` AS select `c`.`x` AS `x` from `c`")},
		{Name: "b", Create: sqlText("CREATE VIEW `b` AS select 1 AS `one`")},
		{Name: "c", Create: sqlText("CREATE VIEW `c` AS select `b`.`one` AS `x` from `b`")},
	}
	var got []string
	for _, v := range orderViews(vs) {
		got = append(got, v.Name)
	}
	if !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Errorf("orderViews = %v", got)
	}
}

func TestDisableEvent(t *testing.T) {
	in := "CREATE DEFINER=`root`@`localhost` EVENT `e` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 02:00:00' ON COMPLETION NOT PRESERVE ENABLE COMMENT 'ENABLE' DO DELETE FROM t"
	want := "CREATE DEFINER=`root`@`localhost` EVENT `e` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 02:00:00' ON COMPLETION NOT PRESERVE DISABLE COMMENT 'ENABLE' DO DELETE FROM t"
	if got := string(disableEvent([]byte(in))); got != want {
		t.Errorf("disableEvent =\n%s", got)
	}
	off := "CREATE EVENT `e` ON SCHEDULE AT '2030-01-01' ON COMPLETION PRESERVE DISABLE DO SELECT 1"
	if got := string(disableEvent([]byte(off))); got != off {
		t.Errorf("disabled event changed: %s", got)
	}
}

func TestSQLTextJSON(t *testing.T) {
	for _, v := range []sqlText{sqlText("select '中文'"), sqlText("select '\xe9\xff'")} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back sqlText
		if err := json.Unmarshal(b, &back); err != nil || string(back) != string(v) {
			t.Errorf("%q -> %s -> %q (%v)", v, b, back, err)
		}
	}
}

func TestRetargetTrigger(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CREATE DEFINER=`root`@`localhost` TRIGGER hall.trg AFTER INSERT ON hall.t FOR EACH ROW INSERT INTO hall.audit VALUES (1)",
			"CREATE DEFINER=`root`@`localhost` TRIGGER `copy`.trg AFTER INSERT ON `copy`.t FOR EACH ROW INSERT INTO hall.audit VALUES (1)"},
		{"CREATE TRIGGER `hall` . `trg` BEFORE UPDATE ON `hall`.`t` for each row SET NEW.x = 1",
			"CREATE TRIGGER `copy`. `trg` BEFORE UPDATE ON `copy`.`t` for each row SET NEW.x = 1"},
		{"CREATE TRIGGER trg AFTER INSERT ON hallway.t FOR EACH ROW SET @a = 1",
			"CREATE TRIGGER trg AFTER INSERT ON hallway.t FOR EACH ROW SET @a = 1"},
		{"CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW SET @a = 1", "CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW SET @a = 1"},
	} {
		if got := string(retargetTrigger([]byte(tc.in), "hall", "copy")); got != tc.want {
			t.Errorf("retargetTrigger(%q) =\n%q, want\n%q", tc.in, got, tc.want)
		}
	}
}

func TestStripDefiner(t *testing.T) {
	out, d := stripDefiner([]byte("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1"))
	if string(out) != "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1" || d != "`root`@`localhost`" {
		t.Errorf("stripDefiner = %q, %q", out, d)
	}
	if out, d := stripDefiner([]byte("CREATE VIEW v AS select 1")); string(out) != "CREATE VIEW v AS select 1" || d != "" {
		t.Errorf("no definer: %q %q", out, d)
	}
}

func TestDefiners(t *testing.T) {
	got := definers([]object{{Create: sqlText("CREATE DEFINER=`app`@`%` VIEW v")}, {Create: sqlText("CREATE DEFINER=`root`@`localhost` TRIGGER x")}},
		[]object{{Create: sqlText("CREATE DEFINER=`app`@`%` PROCEDURE p()")}})
	if !slices.Equal(got, []string{"`app`@`%`", "`root`@`localhost`"}) {
		t.Errorf("definers = %v", got)
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn, pw                  string
		user, addr, db, password string
	}{
		{"backup@tcp(db1:3306)/hall", "s3", "backup", "db1:3306", "hall", "s3"},
		{"backup@unix(/run/mysqld/mysqld.sock)/hall", "", "backup", "/run/mysqld/mysqld.sock", "hall", ""},
		{"mysql://backup@db1/hall", "s3", "backup", "db1:3306", "hall", "s3"},
		{"mariadb://backup:inline@[::1]:3307/hall?timeout=5s", "", "backup", "[::1]:3307", "hall", "inline"},
		{"mysql://backup:inline@db1:3307/hall", "policy", "backup", "db1:3307", "hall", "policy"},
	} {
		cfg, err := parseDSN(engines.Conn{DSN: tc.dsn, Password: secret.New(tc.pw)})
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tc.dsn, err)
			continue
		}
		if cfg.User != tc.user || cfg.Addr != tc.addr || cfg.DBName != tc.db || cfg.Passwd != tc.password {
			t.Errorf("parseDSN(%q) = user %q addr %q db %q password %q", tc.dsn, cfg.User, cfg.Addr, cfg.DBName, cfg.Passwd)
		}
	}
	for _, bad := range []string{"postgres://x@h/db", "mysql://u:Secret-Inline-9@h:notaport/db", "u@tcp(h:1/db"} {
		_, err := parseDSN(engines.Conn{DSN: bad})
		if err == nil {
			t.Errorf("parseDSN(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "Secret-Inline-9") {
			t.Errorf("error shows the password: %v", err)
		}
		if !errors.Is(err, fault.ErrPermanent) {
			t.Errorf("parseDSN(%q): %v is not permanent", bad, err)
		}
	}
}
