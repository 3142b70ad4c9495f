package volume

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/i18n"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func rowsText(lang i18n.Lang, f Figures) string {
	s := strconv.FormatInt(f.Rows, 10)
	if f.RowsEstimated {
		s += " (" + t(lang, "rows_estimated") + ")"
	}
	return s
}

func signed(lang i18n.Lang, g *Growth, bytes bool) string {
	if g == nil {
		return t(lang, "unknown")
	}
	v := g.Rows
	if bytes {
		v = g.Bytes
	}
	return fmt.Sprintf("%+d", v)
}

// WriteText writes the report as aligned text in lang: the register first.
func WriteText(w io.Writer, r *Report, lang i18n.Lang) error {
	fmt.Fprintf(w, "%s\n\n", t(lang, "title", "month", r.Month))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	if len(r.Register) > 0 {
		fmt.Fprintf(w, "%s\n", t(lang, "register"))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t(lang, "label"), t(lang, "database"), t(lang, "table"), t(lang, "rows"), t(lang, "bytes"), t(lang, "rows_month"), t(lang, "rows_year"))
		for _, l := range r.Register {
			if !l.Found {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Label, l.Database, l.Table, t(lang, "unknown"), t(lang, "unknown"), t(lang, "unknown"), t(lang, "unknown"))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", l.Label, l.Database, l.Table, rowsText(lang, l.At), l.At.Bytes, signed(lang, l.Month, false), signed(lang, l.Year, false))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s\n", t(lang, "databases"))
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t(lang, "database"), t(lang, "rows"), t(lang, "bytes"), t(lang, "stored_bytes"),
		t(lang, "rows_month"), t(lang, "bytes_month"), t(lang, "rows_year"), t(lang, "bytes_year"))
	for _, d := range r.Databases {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", d.Database, rowsText(lang, d.At), d.At.Bytes, d.StoredBytes,
			signed(lang, d.Month, false), signed(lang, d.Month, true), signed(lang, d.Year, false), signed(lang, d.Year, true))
	}
	tw.Flush()
	for _, part := range []struct {
		key   string
		lines []TableLine
	}{{"largest", r.Largest}, {"fastest", r.Fastest}} {
		fmt.Fprintf(w, "\n%s\n", t(lang, part.key))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", t(lang, "database"), t(lang, "table"), t(lang, "rows"), t(lang, "bytes"), t(lang, "rows_month"), t(lang, "bytes_month"))
		for _, l := range part.lines {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", l.Database, l.qualified(), rowsText(lang, l.At), l.At.Bytes, signed(lang, l.Month, false), signed(lang, l.Month, true))
		}
		tw.Flush()
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", t(lang, "notes"))
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
	return nil
}

func growthCells(g *Growth) (rows, bytes any) {
	if g == nil {
		return nil, nil
	}
	return g.Rows, g.Bytes
}

// tableRows are the report's table lines, register first, as cells:
// numbers as numbers, unknown growth as empty cells.
func tableRows(r *Report, lang i18n.Lang) (header []any, rows [][]any) {
	header = []any{t(lang, "label"), t(lang, "database"), t(lang, "table"), t(lang, "rows"), t(lang, "rows_estimated"), t(lang, "data_bytes"),
		t(lang, "index_bytes"), t(lang, "bytes"), t(lang, "rows_month"), t(lang, "bytes_month"), t(lang, "rows_year"), t(lang, "bytes_year")}
	est := func(f Figures) string {
		if f.RowsEstimated {
			return t(lang, "rows_estimated")
		}
		return ""
	}
	for _, l := range r.Register {
		if !l.Found {
			rows = append(rows, []any{l.Label, l.Database, l.Table})
			continue
		}
		mr, mb := growthCells(l.Month)
		yr, yb := growthCells(l.Year)
		rows = append(rows, []any{l.Label, l.Database, l.Table, l.At.Rows, est(l.At), l.At.DataBytes, l.At.IndexBytes, l.At.Bytes, mr, mb, yr, yb})
	}
	for _, d := range r.Databases {
		for _, l := range d.Tables {
			mr, mb := growthCells(l.Month)
			yr, yb := growthCells(l.Year)
			rows = append(rows, []any{"", l.Database, l.qualified(), l.At.Rows, est(l.At), l.At.DataBytes, l.At.IndexBytes, l.At.Bytes, mr, mb, yr, yb})
		}
	}
	return header, rows
}

// WriteCSV writes one line per registered table and per table.
func WriteCSV(w io.Writer, r *Report, lang i18n.Lang) error {
	cw := csv.NewWriter(w)
	header, rows := tableRows(r, lang)
	rec := func(cells []any) []string {
		out := make([]string, len(header))
		for i, c := range cells {
			if c != nil {
				out[i] = fmt.Sprint(c)
			}
		}
		return out
	}
	cw.Write(rec(header))
	for _, row := range rows {
		cw.Write(rec(row))
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes a workbook: the register and tables sheet, and the
// totals per database; number cells, frozen headers, filters.
func WriteXLSX(w io.Writer, r *Report, lang i18n.Lang) error {
	f := excelize.NewFile()
	defer f.Close()
	tables, dbs := t(lang, "tables"), t(lang, "databases")
	if err := f.SetSheetName("Sheet1", tables); err != nil {
		return err
	}
	header, rows := tableRows(r, lang)
	if err := sheet(f, tables, header, rows); err != nil {
		return err
	}
	if _, err := f.NewSheet(dbs); err != nil {
		return err
	}
	dh := []any{t(lang, "database"), t(lang, "sampled_at"), t(lang, "rows"), t(lang, "data_bytes"), t(lang, "index_bytes"), t(lang, "bytes"),
		t(lang, "stored_bytes"), t(lang, "rows_month"), t(lang, "bytes_month"), t(lang, "rows_year"), t(lang, "bytes_year")}
	var drows [][]any
	for _, d := range r.Databases {
		mr, mb := growthCells(d.Month)
		yr, yb := growthCells(d.Year)
		drows = append(drows, []any{d.Database, d.SampledAt.Format("2006-01-02 15:04"), d.At.Rows, d.At.DataBytes, d.At.IndexBytes, d.At.Bytes, d.StoredBytes, mr, mb, yr, yb})
	}
	if err := sheet(f, dbs, dh, drows); err != nil {
		return err
	}
	return f.Write(w)
}

func sheet(f *excelize.File, name string, header []any, rows [][]any) error {
	if err := f.SetSheetRow(name, "A1", &header); err != nil {
		return err
	}
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(name, cell, &row); err != nil {
			return err
		}
	}
	if err := f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(header), max(len(rows)+1, 2))
	return f.AutoFilter(name, "A1:"+last, nil)
}
