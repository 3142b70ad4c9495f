package dictionary_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/harness"
)

const mariaFixture = "CREATE TABLE 客户 (" +
	"id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY COMMENT '编号'," +
	"name VARCHAR(40) NOT NULL COMMENT '客户名称'," +
	"email VARCHAR(80) COLLATE utf8mb4_bin UNIQUE," +
	"name_upper VARCHAR(40) AS (UPPER(name)) VIRTUAL," +
	"created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP," +
	"CONSTRAINT name_not_blank CHECK (name <> '')" +
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='客户表';\n" +
	"CREATE TABLE 订单 (id INT PRIMARY KEY, 客户 BIGINT NOT NULL, 金额 DECIMAL(12,2) COMMENT '订单金额（元）', KEY 订单_客户 (客户)," +
	" CONSTRAINT 订单_客户_fk FOREIGN KEY (客户) REFERENCES 客户 (id) ON DELETE CASCADE) COMMENT='订单表';\n" +
	"CREATE TABLE history_of_prices (id INT PRIMARY KEY, price DECIMAL(10,2)) WITH SYSTEM VERSIONING;\n" +
	"CREATE TABLE events (id INT NOT NULL, at DATE NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (YEAR(at)) (PARTITION p2025 VALUES LESS THAN (2026), PARTITION p2026 VALUES LESS THAN (2027));\n" +
	"CREATE TABLE a_table_name_of_exactly_forty_characters (id INT PRIMARY KEY);\n" +
	"CREATE TABLE registry_of_natural_persons_2025_q1 (id INT);\n" +
	"CREATE TABLE registry_of_natural_persons_2025_q2 (id INT);\n" +
	"CREATE VIEW 客户订单 AS SELECT c.name, o.金额 FROM 客户 c JOIN 订单 o ON o.客户 = c.id;\n" +
	"CREATE TRIGGER 客户_touch BEFORE UPDATE ON 客户 FOR EACH ROW SET NEW.created = NOW();\n" +
	"CREATE PROCEDURE archive(IN days INT) COMMENT '归档' SELECT days;\n" +
	"CREATE FUNCTION twice(n INT) RETURNS INT DETERMINISTIC RETURN n * 2;\n" +
	"CREATE SEQUENCE invoice_no START WITH 1000 INCREMENT BY 10;\n" +
	"INSERT INTO 客户 (name, email) VALUES ('张三', 'z@example.com'), ('李四', NULL);\n" +
	"INSERT INTO 订单 VALUES (1, 1, 1500), (2, 2, 20);\n" +
	"INSERT INTO events VALUES (1, '2025-03-01'), (2, '2026-03-01'), (3, '2026-04-01');\n"

// TestMariaDBModel asserts the MariaDB collector's model and renders it:
// the sheet names of a MySQL database (one schema) are the table names.
func TestMariaDBModel(t *testing.T) {
	m := harness.SourceMariaDB(t)
	name := randName("dict")
	m.Exec(t, "", "CREATE DATABASE "+name+" CHARACTER SET utf8mb4")
	t.Cleanup(func() { m.Exec(t, "", "DROP DATABASE IF EXISTS "+name) })
	m.Exec(t, name, mariaFixture)
	d := collect(t, "mysql", engines.Conn{DSN: m.DSN("")}, name)

	eq(t, "engine", d.Engine, "mysql")
	eq(t, "schemas", d.Schemas, []dictionary.Schema{{Name: name}})
	if d.Queries > 13 {
		t.Errorf("%d statements for %d tables: the collector should need one per object kind", d.Queries, len(d.Tables))
	}
	c := table(t, d, name, "客户")
	eq(t, "客户 comment", c.Comment, "客户表")
	eq(t, "客户 rows", *c.Rows, int64(2))
	eq(t, "客户 collation", c.Collation, "utf8mb4_general_ci")
	eq(t, "id", column(t, c, "id"), dictionary.Column{Position: 1, Name: "id", Type: "bigint(20)", Comment: "编号", Identity: "auto_increment"})
	eq(t, "name", column(t, c, "name"), dictionary.Column{Position: 2, Name: "name", Type: "varchar(40)", Comment: "客户名称"})
	eq(t, "email", column(t, c, "email"), dictionary.Column{Position: 3, Name: "email", Type: "varchar(80)", Nullable: true, Default: "NULL", Collation: "utf8mb4_bin"})
	eq(t, "name_upper", column(t, c, "name_upper"), dictionary.Column{Position: 4, Name: "name_upper", Type: "varchar(40)", Nullable: true, Generated: "ucase(`name`)", GeneratedKind: "virtual"})
	eq(t, "created", column(t, c, "created"), dictionary.Column{Position: 5, Name: "created", Type: "datetime", Default: "current_timestamp()"})
	eq(t, "primary key", *c.PrimaryKey, dictionary.Constraint{Name: "PRIMARY", Columns: []string{"id"}})
	eq(t, "uniques", c.Uniques, []dictionary.Constraint{{Name: "email", Columns: []string{"email"}}})
	eq(t, "checks", c.Checks, []dictionary.Check{{Name: "name_not_blank", Expression: "`name` <> ''"}})
	eq(t, "triggers", len(c.Triggers), 1)
	eq(t, "trigger", [3]string{c.Triggers[0].Name, c.Triggers[0].Timing, c.Triggers[0].Events}, [3]string{"客户_touch", "BEFORE", "UPDATE"})
	fk := dictionary.ForeignKey{Name: "订单_客户_fk", Schema: name, Table: "订单", Columns: []string{"客户"}, RefSchema: name, RefTable: "客户",
		RefColumns: []string{"id"}, OnUpdate: "RESTRICT", OnDelete: "CASCADE"}
	eq(t, "referenced by", c.ReferencedBy, []dictionary.ForeignKey{fk})
	o := table(t, d, name, "订单")
	eq(t, "foreign keys", o.ForeignKeys, []dictionary.ForeignKey{fk})
	for _, ix := range o.Indexes {
		if ix.Bytes == nil || *ix.Bytes <= 0 {
			t.Errorf("index %s of 订单 has no size", ix.Name)
		}
	}
	h := table(t, d, name, "history_of_prices")
	if !h.SystemVersioned {
		t.Error("history_of_prices is not marked system-versioned")
	}
	ev := table(t, d, name, "events")
	eq(t, "events kind", ev.Kind, "partitioned table")
	eq(t, "events partitions", ev.PartitionNames, []string{"p2025", "p2026"})
	eq(t, "events key", ev.PartitionKey, "RANGE (year(`at`))")
	eq(t, "events rows", *ev.Rows, int64(3))
	v := table(t, d, name, "客户订单")
	eq(t, "view kind", v.Kind, "view")
	eq(t, "view comment", v.Comment, "")
	eq(t, "view reads", v.Reads, []dictionary.Ref{{Schema: name, Name: "客户"}, {Schema: name, Name: "订单"}})
	eq(t, "routines", d.Routines, []dictionary.Routine{
		{Schema: name, Name: "archive", Kind: "procedure", Arguments: "IN days int(11)", Language: "SQL", Comment: "归档"},
		{Schema: name, Name: "twice", Kind: "function", Arguments: "IN n int(11)", Returns: "int(11)", Language: "SQL"},
	})
	eq(t, "sequences", d.Sequences, []dictionary.Sequence{{Schema: name, Name: "invoice_no"}})
	if table := dictionary.Find(d, dictionary.Ref{Schema: name, Name: "invoice_no"}); table != nil {
		t.Error("a sequence is listed as a table")
	}

	// Statements for comments: MODIFY COLUMN restates the column.
	stmts, skipped := dictionary.CommentStatements(d, []dictionary.Comment{
		{Line: 2, Table: "客户", Column: "email", Comment: "邮箱"},
		{Line: 3, Table: "订单", Comment: "订单表"}, // unchanged
		{Line: 4, Table: "客户", Comment: "客户's"},
	}, i18n.EN)
	if len(skipped) != 0 || len(stmts) != 2 ||
		stmts[0].SQL != "ALTER TABLE `客户` MODIFY COLUMN `email` varchar(80) COLLATE utf8mb4_bin DEFAULT NULL COMMENT '邮箱';" ||
		stmts[1].SQL != "ALTER TABLE `客户` COMMENT = '客户''s';" {
		t.Errorf("statements %+v skipped %q", stmts, skipped)
	}
	// Applying the statement changes nothing but the comment.
	m.Exec(t, name, stmts[0].SQL)
	again := collect(t, "mysql", engines.Conn{DSN: m.DSN("")}, name)
	changes := dictionary.Diff(d, again)
	if len(changes) != 1 || changes[0].Kind != dictionary.ColumnComment || changes[0].New != "邮箱" {
		t.Errorf("after the comment statement: %+v", changes)
	}

	var b bytes.Buffer
	if err := dictionary.XLSX(&b, &dictionary.Document{Dict: d}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := strings.Join(f.GetSheetList(), "|")
	if !strings.Contains(sheets, "|客户|") || !strings.Contains(sheets, "|registry_of_natural_persons_202|registry_of_natural_persons_2~2|") {
		t.Errorf("sheets %s", sheets)
	}
}
