package dictionary_test

import (
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
