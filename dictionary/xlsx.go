package dictionary

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// maxSheetName is Excel's limit on a sheet name, in UTF-16 units.
const maxSheetName = 31

// SheetNames gives every table a sheet name Excel accepts: the characters
// it refuses replaced, cut to 31 characters, and unique regardless of case
// (a cut name that collides gets "~2", "~3" ... within the 31). reserved
// are names already taken (the index and columns sheets). With more than
// one schema the name is schema.table.
func SheetNames(d *Dictionary, reserved ...string) map[Ref]string {
	used := map[string]bool{}
	for _, r := range reserved {
		used[strings.ToLower(r)] = true
	}
	schemas := map[string]bool{}
	for _, t := range d.Tables {
		schemas[t.Schema] = true
	}
	out := map[Ref]string{}
	for _, t := range d.Tables {
		name := t.Name
		if len(schemas) > 1 {
			name = t.Schema + "." + t.Name
		}
		name = strings.Map(func(r rune) rune {
			if strings.ContainsRune(`:\/?*[]`, r) {
				return '_'
			}
			return r
		}, name)
		name = strings.Trim(name, "'")
		if name == "" {
			name = "_"
		}
		base := cutUTF16(name, maxSheetName)
		cand := base
		for n := 2; used[strings.ToLower(cand)]; n++ {
			suffix := fmt.Sprintf("~%d", n)
			cand = cutUTF16(base, maxSheetName-len(suffix)) + suffix
		}
		used[strings.ToLower(cand)] = true
		out[t.Ref()] = cand
	}
	return out
}

// cutUTF16 cuts s to at most n UTF-16 units, never inside a character.
func cutUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		w := len(utf16.Encode([]rune{r}))
		if units+w > n {
			return s[:i]
		}
		units += w
	}
	return s
}

// XLSX writes the dictionary as a workbook: an index sheet (one row per
// table, its name linking to the table's sheet), a sheet of every column of
// the database, and one sheet per table; rows and bytes as number cells,
// headers frozen. Every sheet carries a filter: the index and each table's
// sheet an autofilter on the header row (a table's over its columns, not
// the keys and indexes under them), the columns sheet a filtered table.
// The column and table sheets are streamed. A table sheet's autofilter is
// set while the sheet is still empty, before its stream: set on a
// streamed sheet, excelize parses the sheet again, which took minutes and
// 600 MB for 2,000 tables (and a table per sheet costs a scan of every
// table of the workbook for each).
func XLSX(out io.Writer, doc *Document) error {
	w := doc.words()
	d := doc.Dict
	f := excelize.NewFile()
	defer f.Close()
	index, all := w.T("index_sheet"), w.T("columns_sheet")
	names := SheetNames(d, index, all)
	if err := f.SetSheetName("Sheet1", index); err != nil {
		return err
	}
	frozen := &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}
	header, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"EEF2F7"}, Pattern: 1}})
	if err != nil {
		return err
	}

	// The index.
	head := []any{w.T("schema"), w.T("table"), w.T("kind"), w.T("comment"), w.T("columns"), w.T("rows"), w.T("rows_estimated"), w.T("data_bytes"), w.T("index_bytes")}
	if err := f.SetSheetRow(index, "A1", &head); err != nil {
		return err
	}
	for i := range d.Tables {
		t := &d.Tables[i]
		row := []any{t.Schema, t.Name, kindWord(w, t.Kind), t.Comment, len(t.Columns), ptr(t.Rows), w.yesNo(t.RowsEstimated), ptr(t.DataBytes), ptr(t.IndexBytes)}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(index, cell, &row); err != nil {
			return err
		}
		link, _ := excelize.CoordinatesToCellName(2, i+2)
		if err := f.SetCellHyperLink(index, link, "'"+names[t.Ref()]+"'!A1", "Location"); err != nil {
			return err
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(head), len(d.Tables)+1)
	if err := f.SetCellStyle(index, "A1", fmt.Sprintf("%c1", 'A'+len(head)-1), header); err != nil {
		return err
	}
	if err := f.SetPanes(index, frozen); err != nil {
		return err
	}
	if err := f.AutoFilter(index, "A1:"+last, nil); err != nil {
		return err
	}
	_ = f.SetColWidth(index, "A", "B", 24)
	_ = f.SetColWidth(index, "D", "D", 40)

	colHead := func() []any {
		return []any{w.T("position"), w.T("column"), w.T("type"), w.T("nullable"), w.T("default"), w.T("generated"), w.T("identity"), w.T("collation"), w.T("comment")}
	}
	colRow := func(c Column) []any {
		return []any{c.Position, c.Name, c.Type, w.yesNo(c.Nullable), c.Default, c.Generated, c.Identity, c.Collation, c.Comment}
	}

	// Every column.
	if _, err := f.NewSheet(all); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(all)
	if err != nil {
		return err
	}
	if err := sw.SetPanes(frozen); err != nil {
		return err
	}
	h := append([]any{w.T("schema"), w.T("table")}, colHead()...)
	if err := sw.SetRow("A1", h, excelize.RowOpts{StyleID: header}); err != nil {
		return err
	}
	n := 1
	for i := range d.Tables {
		t := &d.Tables[i]
		for _, c := range t.Columns {
			n++
			cell, _ := excelize.CoordinatesToCellName(1, n)
			if err := sw.SetRow(cell, append([]any{t.Schema, t.Name}, colRow(c)...)); err != nil {
				return err
			}
		}
	}
	if err := streamFilter(sw, "T0", len(h), n); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}

	// A sheet per table: its columns, then its keys, indexes and links.
	for i := range d.Tables {
		t := &d.Tables[i]
		name := names[t.Ref()]
		if _, err := f.NewSheet(name); err != nil {
			return fmt.Errorf("sheet %q of %s: %w", name, t.Ref(), err)
		}
		h := colHead()
		end, _ := excelize.CoordinatesToCellName(len(h), max(len(t.Columns)+1, 2))
		if err := f.AutoFilter(name, "A1:"+end, nil); err != nil {
			return fmt.Errorf("sheet %q of %s: %w", name, t.Ref(), err)
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		if err := sw.SetPanes(frozen); err != nil {
			return err
		}
		if err := sw.SetRow("A1", h, excelize.RowOpts{StyleID: header}); err != nil {
			return err
		}
		row := 1
		for _, c := range t.Columns {
			row++
			cell, _ := excelize.CoordinatesToCellName(1, row)
			if err := sw.SetRow(cell, colRow(c)); err != nil {
				return err
			}
		}
		add := func(vals ...any) error {
			row++
			cell, _ := excelize.CoordinatesToCellName(1, row)
			return sw.SetRow(cell, vals)
		}
		row++ // a blank row between the columns and the rest
		extra := [][]any{{t.Schema + "." + t.Name, t.Comment}, {w.T("kind"), kindWord(w, t.Kind)},
			{w.T("rows"), ptr(t.Rows), w.yesNo(t.RowsEstimated)}, {w.T("data_bytes"), ptr(t.DataBytes)}, {w.T("index_bytes"), ptr(t.IndexBytes)}}
		if pk := t.PrimaryKey; pk != nil {
			extra = append(extra, []any{w.T("primary_key"), pk.Name, columnsOf(pk.Columns)})
		}
		for _, u := range t.Uniques {
			extra = append(extra, []any{w.T("uniques"), u.Name, columnsOf(u.Columns)})
		}
		for _, ix := range t.Indexes {
			extra = append(extra, []any{w.T("indexes"), ix.Name, columnsOf(ix.Columns), ix.Method, w.yesNo(ix.Unique), ix.Predicate, ptr(ix.Bytes)})
		}
		for _, fk := range t.ForeignKeys {
			extra = append(extra, []any{w.T("foreign_keys"), fk.Name, columnsOf(fk.Columns), fk.RefSchema + "." + fk.RefTable, columnsOf(fk.RefColumns)})
		}
		for _, fk := range t.ReferencedBy {
			extra = append(extra, []any{w.T("referenced_by"), fk.Name, columnsOf(fk.RefColumns), fk.Schema + "." + fk.Table, columnsOf(fk.Columns)})
		}
		for _, c := range t.Checks {
			extra = append(extra, []any{w.T("checks"), c.Name, c.Expression})
		}
		for _, tr := range t.Triggers {
			extra = append(extra, []any{w.T("triggers"), tr.Name, tr.Definition})
		}
		if t.Definition != "" {
			extra = append(extra, []any{w.T("definition"), t.Definition})
		}
		for _, e := range extra {
			if err := add(e...); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	// The index, Sheet1, is the active sheet already; SetActiveSheet would
	// parse every streamed sheet again.
	return f.Write(out)
}

// streamFilter puts a filtered table over the header and rows 2..last;
// Excel wants at least one row under the header.
func streamFilter(sw *excelize.StreamWriter, name string, cols, last int) error {
	if last < 2 {
		last = 2
	}
	end, _ := excelize.CoordinatesToCellName(cols, last)
	show := false
	return sw.AddTable(&excelize.Table{Range: "A1:" + end, Name: name, StyleName: "TableStyleLight1", ShowRowStripes: &show})
}

// ptr is a number cell, or an empty one when the value was not collected.
func ptr(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
