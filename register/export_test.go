package register

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/i18n"
)

// history appends the life of three requests: one that ran, one refused,
// one accepted and still queued.
func history(t *testing.T, r *Register) []Entry {
	t.Helper()
	rcv := mustAppend(t, r, Entry{Kind: Received, Request: "R1", Action: "restore", Database: "queue", Target: "standby-pg",
		As: "queue_restored", Tables: []string{"public.tickets"}, Requester: "zhang.wei", Reason: "误删 <工单> & 评价"})
	mustAppend(t, r, Entry{Kind: Approved, Ref: rcv.Seq, Request: "R1", Signer: "wang.fang"})
	mustAppend(t, r, Entry{Kind: Accepted, Ref: rcv.Seq, Request: "R1", Approvers: []string{"wang.fang", "zhao.min"}})
	bad := mustAppend(t, r, Entry{Kind: Received, Request: "R2", Action: "drill", Database: "hall", Target: "standby-pg",
		As: "hall_drill", Requester: "li.na", Reason: "季度演练"})
	mustAppend(t, r, Entry{Kind: Refused, Ref: bad.Seq, Request: "R2", Refusal: "drills go only to scratch targets"})
	mustAppend(t, r, Entry{Kind: Started, Ref: rcv.Seq, Request: "R1", Backup: "20260301T010000.000Z-ab12"})
	q := mustAppend(t, r, Entry{Kind: Received, Request: "R3", Action: "restore", Database: "queue", Target: "standby-pg", As: "q2", Requester: "li.na"})
	mustAppend(t, r, Entry{Kind: Accepted, Ref: q.Seq, Request: "R3", Approvers: []string{"wang.fang"}})
	mustAppend(t, r, Entry{Kind: Finished, Ref: rcv.Seq, Request: "R1", Backup: "20260301T010000.000Z-ab12", Outcome: Succeeded,
		DurationMS: (3*time.Minute + 25*time.Second).Milliseconds()})
	es, err := ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestRows(t *testing.T) {
	rows := Rows(history(t, newRegister(t)))
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	r1, r2, r3 := rows[0], rows[1], rows[2]
	if r1.Status != Finished || r1.Outcome != Succeeded || r1.Backup != "20260301T010000.000Z-ab12" || r1.Duration != 205*time.Second ||
		strings.Join(r1.Approvers, ",") != "wang.fang,zhao.min" {
		t.Fatalf("row 1: %+v", r1)
	}
	if r2.Status != Refused || r2.Detail != "drills go only to scratch targets" {
		t.Fatalf("row 2: %+v", r2)
	}
	if r3.Status != Accepted || r3.Backup != "" {
		t.Fatalf("row 3: %+v", r3)
	}
}

func TestCSV(t *testing.T) {
	rows := Rows(history(t, newRegister(t)))
	shanghai := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		lang   i18n.Lang
		bom    bool
		header []string
		row1   []string
	}{
		{i18n.ZH, true, []string{"日期", "数据库", "使用的备份", "恢复目标", "申请人", "审批人", "原因", "结果", "耗时", "类型", "申请编号"},
			[]string{"2026-03-01 10:15:01", "queue", "20260301T010000.000Z-ab12", "standby-pg / queue_restored (public.tickets)", "zhang.wei",
				"wang.fang、zhao.min", "误删 <工单> & 评价", "成功", "3分25秒", "恢复", "R1"}},
		{i18n.EN, false, []string{"Date", "Database", "Backup used", "Target", "Requester", "Approvers", "Reason", "Outcome", "Duration", "Type", "Request ID"},
			[]string{"2026-03-01 10:15:01", "queue", "20260301T010000.000Z-ab12", "standby-pg / queue_restored (public.tickets)", "zhang.wei",
				"wang.fang, zhao.min", "误删 <工单> & 评价", "succeeded", "3m25s", "restore", "R1"}},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteCSV(&b, rows, c.lang, shanghai, c.bom); err != nil {
				t.Fatal(err)
			}
			data := b.String()
			if got := strings.HasPrefix(data, "\ufeff"); got != c.bom {
				t.Fatalf("BOM: %v", got)
			}
			recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(data, "\ufeff"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(recs[0], "|") != strings.Join(c.header, "|") {
				t.Fatalf("header %q", recs[0])
			}
			if strings.Join(recs[1], "|") != strings.Join(c.row1, "|") {
				t.Fatalf("row 1\n got %q\nwant %q", recs[1], c.row1)
			}
			if !strings.Contains(recs[2][7], "drills go only to scratch targets") || recs[3][2] == "" {
				t.Fatalf("rows 2-3: %q %q", recs[2], recs[3])
			}
		})
	}
}

// TestXLSX reads the workbook back as a spreadsheet program would: every
// part well-formed XML, the sheet's inline strings in order.
func TestXLSX(t *testing.T) {
	rows := Rows(history(t, newRegister(t)))
	var b bytes.Buffer
	if err := WriteXLSX(&b, rows, i18n.ZH, time.UTC); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		parts[f.Name] = data
		dec := xml.NewDecoder(bytes.NewReader(data))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s is not well-formed XML: %v", f.Name, err)
			}
		}
	}
	for _, want := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"} {
		if parts[want] == nil {
			t.Fatalf("missing part %s", want)
		}
	}
	if !bytes.Contains(parts["xl/workbook.xml"], []byte(`name="数据库恢复登记表"`)) {
		t.Fatal("sheet name")
	}
	var ws struct {
		Rows []struct {
			R     int `xml:"r,attr"`
			Cells []struct {
				Ref  string `xml:"r,attr"`
				Text string `xml:"is>t"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := xml.Unmarshal(parts["xl/worksheets/sheet1.xml"], &ws); err != nil {
		t.Fatal(err)
	}
	if len(ws.Rows) != 4 {
		t.Fatalf("%d rows", len(ws.Rows))
	}
	h := ws.Rows[0].Cells
	if h[0].Text != "日期" || h[8].Text != "耗时" || h[8].Ref != "I1" || h[10].Ref != "K1" {
		t.Fatalf("header %+v", h)
	}
	if got := ws.Rows[1].Cells[6].Text; got != "误删 <工单> & 评价" {
		t.Fatalf("reason cell %q", got)
	}
	if got := ws.Rows[2].Cells[7].Text; got != "已拒绝：drills go only to scratch targets" {
		t.Fatalf("outcome cell %q", got)
	}
}

func TestColumnAndDuration(t *testing.T) {
	for c, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := column(c); got != want {
			t.Errorf("column(%d) = %s, want %s", c, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "", 400 * time.Millisecond: "1秒", 59 * time.Second: "59秒", time.Hour + 2*time.Second: "1小时2秒"} {
		if got := formatDuration(d, i18n.ZH); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "", 400 * time.Millisecond: "1s", time.Hour + 2*time.Minute + 3*time.Second: "1h2m3s"} {
		if got := formatDuration(d, i18n.EN); got != want {
			t.Errorf("formatDuration(%s, en) = %q, want %q", d, got, want)
		}
	}
}

// TestOutcomesInBothLanguages: every outcome and action a row can have
// reads in the export's language; an action this version does not know
// shows as it is.
func TestOutcomesInBothLanguages(t *testing.T) {
	rows := []Row{
		{Status: Received, Action: "drill"},
		{Status: Accepted, Action: "maintenance"},
		{Status: Started, Action: "restore"},
		{Status: Finished, Outcome: Failed, Detail: "connection refused", Action: "vacuum"},
		{Status: Finished, Outcome: Failed},
	}
	want := map[i18n.Lang][][2]string{
		i18n.ZH: {{"已接收", "演练"}, {"已批准，待执行", "维护"}, {"执行中", "恢复"}, {"失败：connection refused", "vacuum"}, {"失败", ""}},
		i18n.EN: {{"received", "drill"}, {"approved, queued", "maintenance"}, {"running", "restore"}, {"failed: connection refused", "vacuum"}, {"failed", ""}},
	}
	for lang, w := range want {
		table := cells(rows, lang, time.UTC)
		for i, r := range table[1:] {
			if got := [2]string{r[7], r[9]}; got != w[i] {
				t.Errorf("%s row %d: outcome, type %q, want %q", lang, i, got, w[i])
			}
			if r[2] != i18n.T(lang, "register.backup.newest", nil) {
				t.Errorf("%s row %d: backup %q", lang, i, r[2])
			}
		}
	}
}
