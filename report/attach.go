package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/i18n"
)

// bom makes Excel read the CSV as UTF-8 (without it Chinese is mojibake).
const bom = "\ufeff"

// FindingsCSV is the findings of every database, one row each, as CSV in
// UTF-8 with a byte-order mark. A report without findings gives the header.
func FindingsCSV(r *Report, lang i18n.Lang, loc *time.Location) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(bom)
	w := csv.NewWriter(&b)
	t := func(k string) string { return i18n.T(lang, k, nil) }
	_ = w.Write([]string{t("report.col.database"), t("report.col.check"), t("report.col.priority"), t("report.col.finding"),
		t("report.col.object"), t("report.col.details"), t("report.col.time"), t("report.col.state")})
	for _, d := range r.Databases {
		for _, f := range d.Findings {
			state := "report.state.open"
			switch {
			case f.Suppressed:
				state = "report.state.suppressed"
			case f.Resolved:
				state = "report.state.resolved"
			case f.New:
				state = "report.state.new"
			}
			_ = w.Write([]string{d.Name, f.Check, t("report.priority." + f.Priority), f.Finding, f.Object, f.Details,
				f.Seen.In(loc).Format("2006-01-02 15:04"), t(state)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("writing the findings CSV: %w", err)
	}
	return b.Bytes(), nil
}

// VolumeXLSX is the data-volume register as a workbook: a sheet of each
// database's monthly volume (rows, bytes: number cells), the registered
// tables, and a sheet of the period's backups per database.
func VolumeXLSX(r *Report, lang i18n.Lang) ([]byte, error) {
	t := func(k string) string { return i18n.T(lang, k, nil) }
	f := excelize.NewFile()
	defer f.Close()
	vol, tables, backups := t("report.sheet.volume"), t("report.sheet.tables"), t("report.sheet.backups")
	if err := f.SetSheetName("Sheet1", vol); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(tables); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(backups); err != nil {
		return nil, err
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	rowsOf := map[string][][]any{
		vol:     {{t("report.col.database"), t("report.col.month"), t("report.col.rows"), t("report.col.bytes"), t("report.col.source")}},
		tables:  {{t("report.col.database"), t("report.col.table"), t("report.col.registered"), t("report.col.rows"), t("report.col.bytes")}},
		backups: {{t("report.col.database"), t("report.col.fulls"), t("report.col.diffs"), t("report.col.failed"), t("report.col.stored_bytes"), t("report.col.size_bytes")}},
	}
	for _, d := range r.Databases {
		if len(d.Volume) > 0 {
			for _, v := range d.Volume {
				rowsOf[vol] = append(rowsOf[vol], []any{d.Name, v.Month.Format("2006-01"), v.Rows, v.Bytes, t("report.source.volume")})
			}
			last := d.Volume[len(d.Volume)-1]
			for _, tv := range last.Tables {
				rowsOf[tables] = append(rowsOf[tables], []any{d.Name, tv.Name, i18n.T(lang, map[bool]string{true: "report.yes", false: "report.no"}[tv.Registered], nil), tv.Rows, tv.Bytes})
			}
		} else {
			// Not collected yet: the backups' raw size is the best measure there is.
			for _, p := range d.History {
				if p.RawBytes > 0 {
					rowsOf[vol] = append(rowsOf[vol], []any{d.Name, p.Month.Format("2006-01"), nil, p.RawBytes, t("report.source.backups")})
				}
			}
		}
		rowsOf[backups] = append(rowsOf[backups], []any{d.Name, d.Fulls, d.Differentials, d.Failed, d.StoredBytes, d.LastFullBytes})
	}
	for _, sheet := range []string{vol, tables, backups} {
		for i, row := range rowsOf[sheet] {
			ref, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(sheet, ref, &row); err != nil {
				return nil, fmt.Errorf("writing the volume workbook: %w", err)
			}
		}
		end, _ := excelize.CoordinatesToCellName(len(rowsOf[sheet][0]), 1)
		_ = f.SetCellStyle(sheet, "A1", end, bold)
		_ = f.SetColWidth(sheet, "A", "F", 18)
		_ = f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, fmt.Errorf("writing the volume workbook: %w", err)
	}
	return b.Bytes(), nil
}

// chromiumNames are the names Debian and others install Chromium under.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindChromium returns the browser for the PDF, "" when none is installed.
func FindChromium() string {
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// printPDF prints html with headless Chromium; nil and the reason when it
// cannot ("" when Chromium is not installed: the caller says so in the
// reader's language).
func printPDF(html, browser string) ([]byte, string) {
	if browser == "" {
		browser = FindChromium()
	}
	if browser == "" {
		return nil, ""
	}
	dir, err := os.MkdirTemp("", "dbopsd-report-")
	if err != nil {
		return nil, err.Error()
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(in, []byte(html), 0o600); err != nil {
		return nil, err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--print-to-pdf="+out, "file://"+in)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("%s: %v: %s", filepath.Base(browser), err, firstLine(string(b)))
	}
	pdf, err := os.ReadFile(out)
	if err != nil || len(pdf) == 0 {
		return nil, fmt.Sprintf("%s wrote no PDF", filepath.Base(browser))
	}
	return pdf, ""
}

// WriteDir writes the report under dir: report.html with the charts as
// files beside it, the PNGs, and every attachment.
func (x *Rendered) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the report to %s: %w", dir, err)
	}
	html := x.HTML
	for _, im := range x.Images {
		html = strings.ReplaceAll(html, "cid:"+im.CID, im.Name)
		if err := os.WriteFile(filepath.Join(dir, im.Name), im.PNG, 0o644); err != nil {
			return fmt.Errorf("writing the report to %s: %w", dir, err)
		}
	}
	files := map[string][]byte{"report.html": []byte(html), "report.txt": []byte(x.Text)}
	for _, a := range x.Attachments {
		files[a.Name] = a.Data
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("writing the report to %s: %w", dir, err)
		}
	}
	return nil
}
