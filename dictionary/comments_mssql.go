package dictionary

import (
	"fmt"
	"strings"
)

// mssqlCommentSQL sets the MS_Description extended property of table t
// (column empty) or of its column: updated where there is one, added where
// not, in one batch, since sp_addextendedproperty refuses an existing
// property and sp_updateextendedproperty a missing one. The procedures take
// the names as values, so only the literals need quoting (and the
// QUOTENAME-style name OBJECT_ID reads).
func mssqlCommentSQL(t *Table, column, comment string) string {
	level1 := "TABLE"
	if t.Kind == "view" {
		level1 = "VIEW"
	}
	object := tsqlString(tsqlIdent(t.Schema) + "." + tsqlIdent(t.Name))
	minor := "0"
	args := fmt.Sprintf("N'MS_Description', %s, N'SCHEMA', %s, N'%s', %s", tsqlString(comment), tsqlString(t.Schema), level1, tsqlString(t.Name))
	if column != "" {
		minor = fmt.Sprintf("COLUMNPROPERTY(OBJECT_ID(%s), %s, 'ColumnId')", object, tsqlString(column))
		args += ", N'COLUMN', " + tsqlString(column)
	}
	return fmt.Sprintf("IF EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 1 AND major_id = OBJECT_ID(%s) AND minor_id = %s AND name = N'MS_Description')\n"+
		"\tEXEC sys.sp_updateextendedproperty %s;\nELSE\n\tEXEC sys.sp_addextendedproperty %s;", object, minor, args, args)
}

func tsqlIdent(s string) string  { return "[" + strings.ReplaceAll(s, "]", "]]") + "]" }
func tsqlString(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }
