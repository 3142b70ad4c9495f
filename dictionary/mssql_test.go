package dictionary_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/i18n"
)

// TestMSSQLCommentStatements: comments on SQL Server are MS_Description
// extended properties, the schema defaults to dbo, and names holding ']'
// and quotes are quoted. (SQL Server cannot run here: the statements are
// compared as text, and have not been run against a server.)
func TestMSSQLCommentStatements(t *testing.T) {
	d := &dictionary.Dictionary{Engine: "mssql", Database: "销售库", Tables: []dictionary.Table{
		{Schema: "dbo", Name: "客户", Kind: "table", Comment: "旧", Columns: []dictionary.Column{{Position: 1, Name: "na]me", Type: "nvarchar(40)"}}},
		{Schema: "o'brien", Name: "v]iew", Kind: "view"},
	}}
	stmts, skipped := dictionary.CommentStatements(d, []dictionary.Comment{
		{Line: 2, Table: "客户", Comment: "客户表"},
		{Line: 3, Table: "客户", Column: "na]me", Comment: "客户's 名称"},
		{Line: 4, Schema: "o'brien", Table: "v]iew", Comment: "视图"},
		{Line: 5, Table: "missing", Comment: "x"},
	}, i18n.EN)
	if len(skipped) != 1 || len(stmts) != 3 {
		t.Fatalf("statements %+v skipped %q", stmts, skipped)
	}
	want := []string{
		"IF EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 1 AND major_id = OBJECT_ID(N'[dbo].[客户]') AND minor_id = 0 AND name = N'MS_Description')\n" +
			"\tEXEC sys.sp_updateextendedproperty N'MS_Description', N'客户表', N'SCHEMA', N'dbo', N'TABLE', N'客户';\nELSE\n" +
			"\tEXEC sys.sp_addextendedproperty N'MS_Description', N'客户表', N'SCHEMA', N'dbo', N'TABLE', N'客户';",
		"IF EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 1 AND major_id = OBJECT_ID(N'[dbo].[客户]') AND minor_id = COLUMNPROPERTY(OBJECT_ID(N'[dbo].[客户]'), N'na]me', 'ColumnId') AND name = N'MS_Description')\n" +
			"\tEXEC sys.sp_updateextendedproperty N'MS_Description', N'客户''s 名称', N'SCHEMA', N'dbo', N'TABLE', N'客户', N'COLUMN', N'na]me';\nELSE\n" +
			"\tEXEC sys.sp_addextendedproperty N'MS_Description', N'客户''s 名称', N'SCHEMA', N'dbo', N'TABLE', N'客户', N'COLUMN', N'na]me';",
		"IF EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 1 AND major_id = OBJECT_ID(N'[o''brien].[v]]iew]') AND minor_id = 0 AND name = N'MS_Description')\n" +
			"\tEXEC sys.sp_updateextendedproperty N'MS_Description', N'视图', N'SCHEMA', N'o''brien', N'VIEW', N'v]iew';\nELSE\n" +
			"\tEXEC sys.sp_addextendedproperty N'MS_Description', N'视图', N'SCHEMA', N'o''brien', N'VIEW', N'v]iew';",
	}
	for i, w := range want {
		if stmts[i].SQL != w {
			t.Errorf("statement %d:\n%s\nwant\n%s", i, stmts[i].SQL, w)
		}
	}
	if stmts[0].Old != "旧" {
		t.Errorf("old comment: %q", stmts[0].Old)
	}
}

// TestMSSQLRenders: a dictionary in the form the SQL Server collector
// fills it (several schemas, a name with ']', identity and computed
// columns, INCLUDE columns, a view's reads) renders in every format.
func TestMSSQLRenders(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	d := &dictionary.Dictionary{Version: 1, Engine: "mssql", Database: "销售库", ServerVersion: "16.0.4165.4",
		Schemas: []dictionary.Schema{{Name: "dbo"}, {Name: "we]ird s", Comment: "奇怪的模式"}},
		Tables: []dictionary.Table{
			{Schema: "dbo", Name: "客户", Kind: "table", Comment: "客户表", Collation: "Chinese_PRC_CI_AS",
				Columns: []dictionary.Column{
					{Position: 1, Name: "id", Type: "bigint", Identity: "identity(1,1)", Comment: "编号"},
					{Position: 2, Name: "name", Type: "nvarchar(40)"},
					{Position: 3, Name: "upper_name", Type: "nvarchar(40)", Nullable: true, Generated: "(upper([name]))", GeneratedKind: "stored"},
				},
				PrimaryKey: &dictionary.Constraint{Name: "PK_客户", Columns: []string{"id"}},
				Indexes: []dictionary.Index{{Name: "PK_客户", Columns: []string{"id"}, Method: "clustered", Unique: true, Primary: true, Bytes: n(16384)},
					{Name: "IX_name", Columns: []string{"name DESC", "INCLUDE upper_name"}, Method: "nonclustered", Predicate: "([name]<>N'')"}},
				Rows: n(2), DataBytes: n(16384), IndexBytes: n(8192)},
			{Schema: "we]ird s", Name: "订单 one", Kind: "partitioned table", Columns: []dictionary.Column{{Position: 1, Name: "id", Type: "int"}},
				Rows: n(5000), RowsEstimated: true},
			{Schema: "dbo", Name: "客户订单", Kind: "view", Definition: "CREATE VIEW dbo.客户订单 AS SELECT name FROM dbo.客户",
				Columns: []dictionary.Column{{Position: 1, Name: "name", Type: "nvarchar(40)"}}, Reads: []dictionary.Ref{{Schema: "dbo", Name: "客户"}}},
		},
		Routines: []dictionary.Routine{{Schema: "dbo", Name: "archive", Kind: "procedure", Arguments: "@days int", Language: "T-SQL"}},
	}
	dictionary.Sort(d)
	doc := &dictionary.Document{Dict: d}
	var h, x bytes.Buffer
	if err := dictionary.HTML(&h, doc); err != nil || !strings.Contains(h.String(), "identity(1,1)") || !strings.Contains(h.String(), "we]ird s") {
		t.Errorf("HTML: %v", err)
	}
	if err := dictionary.XLSX(&x, doc); err != nil || x.Len() == 0 {
		t.Errorf("XLSX: %v", err)
	}
	md := dictionary.Markdown(doc)
	var all strings.Builder
	for _, b := range md {
		all.Write(b)
	}
	if !strings.Contains(all.String(), "INCLUDE upper_name") {
		t.Errorf("markdown lacks the index's included column (%d files)", len(md))
	}
}
