package mssql

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines/dictmodel"
)

// TestDictionaryGolden: every statement of the dictionary, and the exact
// counts for tables with awkward names (quoted as QUOTENAME does: COUNT
// takes no variable for its table).
func TestDictionaryGolden(t *testing.T) {
	var c cases
	for _, q := range dictQueries() {
		c.add(q.what, q.stmt, nil)
	}
	b := newDictBuilder("销售库", dictmodel.Options{})
	for _, n := range names {
		b.d.Tables = append(b.d.Tables, dictmodel.Table{Schema: n, Name: n + " 表", Kind: dictmodel.KindTable})
	}
	b.d.Tables = append(b.d.Tables, dictmodel.Table{Schema: "dbo", Name: "a view", Kind: dictmodel.KindView},
		dictmodel.Table{Schema: "dbo", Name: "big", Kind: dictmodel.KindTable},
		dictmodel.Table{Schema: "dbo", Name: strings.Repeat("长", 129), Kind: dictmodel.KindTable})
	b.estimates[len(names)+1] = 5_000_000
	for i, s := range b.countStatements(100_000) {
		c.add(fmt.Sprintf("exact counts below 100000, batch %d", i+1), s, nil)
	}
	if s := b.countStatements(0); s != nil {
		t.Errorf("no exact counts asked for, yet: %v", s)
	}
	golden(t, "dictionary", c.b.String())

	// Batches of countBatch.
	many := newDictBuilder("x", dictmodel.Options{})
	for i := range 2*countBatch + 1 {
		many.d.Tables = append(many.d.Tables, dictmodel.Table{Schema: "dbo", Name: fmt.Sprintf("t%d", i), Kind: dictmodel.KindTable})
	}
	if n := len(many.countStatements(10)); n != 3 {
		t.Errorf("%d tables in %d statements", 2*countBatch+1, n)
	}
}

func TestTypeName(t *testing.T) {
	for _, c := range []struct {
		name                string
		maxLen, prec, scale int64
		user                bool
		want                string
	}{
		{"nvarchar", 80, 0, 0, false, "nvarchar(40)"},
		{"nvarchar", -1, 0, 0, false, "nvarchar(max)"},
		{"varchar", 10, 0, 0, false, "varchar(10)"},
		{"varbinary", -1, 0, 0, false, "varbinary(max)"},
		{"decimal", 9, 12, 2, false, "decimal(12,2)"},
		{"datetime2", 8, 27, 7, false, "datetime2"},
		{"datetime2", 7, 23, 3, false, "datetime2(3)"},
		{"float", 8, 53, 0, false, "float"},
		{"float", 4, 24, 0, false, "float(24)"},
		{"int", 4, 10, 0, false, "int"},
		{"电话号码", 40, 0, 0, true, "电话号码"},
	} {
		if got := typeName(c.name, c.maxLen, c.prec, c.scale, c.user); got != c.want {
			t.Errorf("%+v: %s", c, got)
		}
	}
}

// TestScanDictionary feeds recorded rows of each statement, in the order
// the collector sends them, and checks the model.
func TestScanDictionary(t *testing.T) {
	b := newDictBuilder("销售库", dictmodel.Options{ExactRowsBelow: 1000})
	steps := []struct {
		scan func(rowScanner, *dictBuilder) error
		rows *recorded
	}{
		{scanDictVersion, rowsOf([]any{"16.0.4165.4", "Chinese_PRC_CI_AS"})},
		{scanSchemas, rowsOf([]any{"dbo", ""}, []any{"we]ird s", "奇怪的模式"})},
		{scanDictTables, rowsOf(
			[]any{"dbo", "客户", "U ", "客户表", "", int64(0)},
			[]any{"dbo", "订单", "U ", "", "", int64(1)},
			[]any{"dbo", "客户订单", "V ", "", "CREATE VIEW dbo.客户订单 AS SELECT ...", int64(0)})},
		{scanColumns, rowsOf(
			[]any{"dbo", "客户", int64(1), "id", "bigint", int64(8), int64(19), int64(0), false, false, "", "编号", "", int64(0), true, "1", "1", ""},
			[]any{"dbo", "客户", int64(2), "name", "nvarchar", int64(80), int64(0), int64(0), false, false, "", "客户名称", "", int64(0), false, "", "", "Chinese_PRC_CI_AS"},
			[]any{"dbo", "客户", int64(3), "email", "varchar", int64(80), int64(0), int64(0), false, true, "", "", "", int64(0), false, "", "", "Latin1_General_BIN2"},
			[]any{"dbo", "客户", int64(4), "name_upper", "nvarchar", int64(80), int64(0), int64(0), false, true, "", "", "(upper([name]))", int64(1), false, "", "", "Chinese_PRC_CI_AS"},
			[]any{"dbo", "客户", int64(5), "created", "datetime2", int64(7), int64(23), int64(3), false, false, "(sysdatetime())", "", "", int64(0), false, "", "", ""},
			[]any{"dbo", "订单", int64(1), "id", "int", int64(4), int64(10), int64(0), false, false, "", "", "", int64(0), false, "", "", ""},
			[]any{"dbo", "订单", int64(2), "客户", "bigint", int64(8), int64(19), int64(0), false, false, "", "", "", int64(0), false, "", "", ""},
			[]any{"dbo", "订单", int64(3), "金额", "decimal", int64(9), int64(12), int64(2), false, true, "((0))", "订单金额（元）", "", int64(0), false, "", "", ""},
			[]any{"dbo", "客户订单", int64(1), "name", "nvarchar", int64(80), int64(0), int64(0), false, false, "", "", "", int64(0), false, "", "", "Chinese_PRC_CI_AS"},
			[]any{"sys", "not ours", int64(1), "x", "int", int64(4), int64(10), int64(0), false, false, "", "", "", int64(0), false, "", "", ""})},
		{scanDictIndexes, rowsOf(
			[]any{"dbo", "客户", "PK_客户", "CLUSTERED", true, true, false, "", "id", false, false},
			[]any{"dbo", "客户", "UQ_email", "NONCLUSTERED", true, false, true, "", "email", false, false},
			[]any{"dbo", "订单", "IX_订单_客户", "NONCLUSTERED", false, false, false, "([金额]>(0))", "客户", true, false},
			[]any{"dbo", "订单", "IX_订单_客户", "NONCLUSTERED", false, false, false, "([金额]>(0))", "金额", false, true},
			[]any{"dbo", "订单", "PK_订单", "CLUSTERED", true, true, false, "", "id", false, false})},
		{scanForeignKeys, rowsOf([]any{"dbo", "订单", "FK_订单_客户", "客户", "dbo", "客户", "id", "NO_ACTION", "CASCADE"})},
		{scanChecks, rowsOf([]any{"dbo", "客户", "CK_name", "([name]<>N'')"})},
		{scanTriggers, rowsOf(
			[]any{"dbo", "客户", "客户_touch", false, "INSERT", "CREATE TRIGGER ..."},
			[]any{"dbo", "客户", "客户_touch", false, "UPDATE", "CREATE TRIGGER ..."})},
		{scanViewReads, rowsOf([]any{"dbo", "客户订单", "dbo", "客户"}, []any{"dbo", "客户订单", "dbo", "订单"})},
		{scanRoutines, rowsOf([]any{"dbo", "archive", "P ", "归档"}, []any{"dbo", "twice", "FN", ""})},
		{scanParameters, rowsOf(
			[]any{"dbo", "archive", int64(1), "@days", "int", int64(4), int64(10), int64(0), false, false},
			[]any{"dbo", "archive", int64(2), "@moved", "bigint", int64(8), int64(19), int64(0), false, true},
			[]any{"dbo", "twice", int64(0), "", "int", int64(4), int64(10), int64(0), false, false},
			[]any{"dbo", "twice", int64(1), "@n", "int", int64(4), int64(10), int64(0), false, false})},
		{scanSequences, rowsOf([]any{"dbo", "invoice_no", "bigint", int64(1000), int64(10), int64(1), nil, false, "发票号"})},
		{scanSizes, rowsOf(
			[]any{"dbo", "客户", "PK_客户", int64(1), int64(2), int64(16384)},
			[]any{"dbo", "客户", "UQ_email", int64(2), int64(2), int64(8192)},
			[]any{"dbo", "订单", "PK_订单", int64(1), int64(5000), int64(1 << 20)},
			[]any{"dbo", "订单", "IX_订单_客户", int64(3), int64(5000), int64(1 << 18)})},
	}
	for i, s := range steps {
		if err := s.scan(s.rows, b); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	b.finish()
	counts := b.countStatements(1000)
	if len(counts) != 1 || !strings.Contains(counts[0].sql, "FROM [dbo].[客户]") || strings.Contains(counts[0].sql, "订单") {
		t.Fatalf("exact counts of the small tables only: %v", counts)
	}
	if err := scanCounts(rowsOf([]any{int64(0), int64(2)}), b); err != nil {
		t.Fatal(err)
	}
	if err := scanCounts(rowsOf([]any{int64(99), int64(2)}), b); err == nil {
		t.Error("a count for a table not asked for")
	}
	d := b.d

	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
		}
	}
	i64 := func(n int64) *int64 { return &n }
	eq("version", d.ServerVersion, "16.0.4165.4")
	eq("schemas", d.Schemas, []dictmodel.Schema{{Name: "dbo"}, {Name: "we]ird s", Comment: "奇怪的模式"}})
	c := d.Tables[0]
	eq("客户", [4]string{c.Name, c.Kind, c.Comment, c.Collation}, [4]string{"客户", dictmodel.KindTable, "客户表", "Chinese_PRC_CI_AS"})
	eq("客户 columns", c.Columns, []dictmodel.Column{
		{Position: 1, Name: "id", Type: "bigint", Comment: "编号", Identity: "identity(1,1)"},
		{Position: 2, Name: "name", Type: "nvarchar(40)", Comment: "客户名称"},
		{Position: 3, Name: "email", Type: "varchar(80)", Nullable: true, Collation: "Latin1_General_BIN2"},
		{Position: 4, Name: "name_upper", Type: "nvarchar(40)", Nullable: true, Generated: "(upper([name]))", GeneratedKind: "stored"},
		{Position: 5, Name: "created", Type: "datetime2(3)", Default: "(sysdatetime())"},
	})
	eq("客户 primary key", c.PrimaryKey, &dictmodel.Constraint{Name: "PK_客户", Columns: []string{"id"}})
	eq("客户 uniques", c.Uniques, []dictmodel.Constraint{{Name: "UQ_email", Columns: []string{"email"}}})
	eq("客户 checks", c.Checks, []dictmodel.Check{{Name: "CK_name", Expression: "([name]<>N'')"}})
	eq("客户 trigger", c.Triggers, []dictmodel.Trigger{{Name: "客户_touch", Timing: "AFTER", Events: "INSERT, UPDATE", Definition: "CREATE TRIGGER ..."}})
	fk := dictmodel.ForeignKey{Name: "FK_订单_客户", Schema: "dbo", Table: "订单", Columns: []string{"客户"}, RefSchema: "dbo", RefTable: "客户",
		RefColumns: []string{"id"}, OnUpdate: "NO ACTION", OnDelete: "CASCADE"}
	eq("客户 referenced by", c.ReferencedBy, []dictmodel.ForeignKey{fk})
	eq("客户 rows (counted)", [2]any{*c.Rows, c.RowsEstimated}, [2]any{int64(2), false})
	eq("客户 sizes", [2]int64{*c.DataBytes, *c.IndexBytes}, [2]int64{16384, 8192})

	o := d.Tables[1]
	eq("订单 kind", o.Kind, dictmodel.KindPartitionedTable)
	eq("订单 foreign keys", o.ForeignKeys, []dictmodel.ForeignKey{fk})
	eq("订单 金额", o.Columns[2], dictmodel.Column{Position: 3, Name: "金额", Type: "decimal(12,2)", Nullable: true, Default: "((0))", Comment: "订单金额（元）"})
	eq("订单 index", o.Indexes[0], dictmodel.Index{Name: "IX_订单_客户", Columns: []string{"客户 DESC", "INCLUDE 金额"}, Method: "nonclustered",
		Predicate: "([金额]>(0))", Bytes: i64(1 << 18)})
	eq("订单 rows (estimated)", [2]any{*o.Rows, o.RowsEstimated}, [2]any{int64(5000), true})

	v := d.Tables[2]
	eq("view", [3]string{v.Kind, v.Definition, fmt.Sprint(v.Reads)}, [3]string{dictmodel.KindView, "CREATE VIEW dbo.客户订单 AS SELECT ...", "[dbo.客户 dbo.订单]"})
	if v.Rows != nil || v.DataBytes != nil {
		t.Errorf("a view has rows or bytes: %+v", v)
	}
	eq("routines", d.Routines, []dictmodel.Routine{
		{Schema: "dbo", Name: "archive", Kind: "procedure", Arguments: "@days int, @moved bigint OUTPUT", Language: "T-SQL", Comment: "归档"},
		{Schema: "dbo", Name: "twice", Kind: "function", Arguments: "@n int", Returns: "int", Language: "T-SQL"},
	})
	eq("sequence", d.Sequences, []dictmodel.Sequence{{Schema: "dbo", Name: "invoice_no", Type: "bigint", Start: i64(1000), Increment: i64(10), Min: i64(1), Comment: "发票号"}})
}
