package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiagnoseCommands: diagnose --save stores a snapshot; history and
// findings read it; --from re-analyses it by id and from a file; --html
// writes the page.
func TestDiagnoseCommands(t *testing.T) {
	s := newOpsSite(t, opsConfig{databases: []string{"hall"}, fill: func(s *opsSite, pgdb string) {
		s.src.Exec(t, pgdb, "CREATE TABLE seats (id int PRIMARY KEY, row text)")
	}})
	s.ok("repo", "init")
	out := s.ok("diagnose", "--database", "hall", "--level", "monthly", "--save", "--json")
	var rep struct {
		Database   string                       `json:"database"`
		Level      string                       `json:"level"`
		Ran        int                          `json:"ran"`
		NotChecked int                          `json:"not_checked"`
		Findings   []map[string]json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Database != "hall" || rep.Level != "monthly" || rep.Ran < 15 {
		t.Fatalf("report %+v", rep)
	}
	checks := map[string]bool{}
	for _, f := range rep.Findings {
		for _, k := range []string{"check", "priority", "finding", "object", "details"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding without %s: %v", k, f)
			}
		}
		var c string
		json.Unmarshal(f["check"], &c)
		checks[c] = true
	}
	// No backup yet: dbopsd's own backup check says so.
	if !checks["backup-age"] {
		t.Errorf("no backup-age finding without any backup: %v", checks)
	}

	var hist []struct {
		ID    string `json:"id"`
		Level string `json:"level"`
		Ran   int    `json:"ran"`
	}
	s.okJSON(&hist, "diagnose", "history", "--database", "hall")
	if len(hist) != 1 || hist[0].Level != "monthly" || hist[0].Ran != rep.Ran {
		t.Fatalf("history %+v", hist)
	}

	var rows []struct {
		Check    string `json:"check"`
		Database string `json:"database"`
		Snapshot string `json:"snapshot"`
	}
	s.okJSON(&rows, "findings", "--database", "hall", "--since", "2000-01-01")
	found := false
	for _, r := range rows {
		found = found || r.Check == "backup-age" && r.Database == "hall" && r.Snapshot == hist[0].ID
	}
	if !found {
		t.Errorf("findings: %+v", rows)
	}
	csv := s.ok("findings", "--csv")
	if !strings.HasPrefix(csv, "taken_at,database,level,check,priority") || !strings.Contains(csv, ",backup-age,") {
		t.Errorf("findings --csv:\n%s", csv)
	}
	if out := s.ok("findings", "--since", "2999-01-01"); !strings.Contains(out, "no findings") {
		t.Errorf("findings in the future: %s", out)
	}

	// Re-analysis by id and from the --json file gives the same checks.
	for _, from := range []string{hist[0].ID, writeFileT(t, out)} {
		var again struct {
			Ran      int `json:"ran"`
			Findings []struct {
				Check string `json:"check"`
			} `json:"findings"`
		}
		s.okJSON(&again, "diagnose", "--from", from, "--database", "hall")
		if again.Ran != rep.Ran || len(again.Findings) != len(rep.Findings) {
			t.Errorf("--from %s: ran %d with %d findings, want %d and %d", from, again.Ran, len(again.Findings), rep.Ran, len(rep.Findings))
		}
	}

	page := filepath.Join(t.TempDir(), "diag.html")
	text := s.ok("diagnose", "--database", "hall", "--html", page, "--lang", "en")
	if !strings.Contains(text, "PRIO") || !strings.Contains(text, "backup-age") {
		t.Errorf("text output:\n%s", text)
	}
	b, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(b), "Database health diagnosis: hall") {
		t.Errorf("page: %v\n%.300s", err, b)
	}

	// After a backup, dbopsd's own backup check is content; the snapshot
	// before it stays as it was.
	s.ok("backup", "--database", "hall", "--type", "full")
	var after struct {
		Findings []struct {
			Check      string `json:"check"`
			NotChecked bool   `json:"not_checked"`
		} `json:"findings"`
		Facts struct {
			Backups struct {
				LastSuccess string `json:"last_success"`
			} `json:"backups"`
		} `json:"facts"`
	}
	s.okJSON(&after, "diagnose", "--database", "hall", "--save")
	for _, f := range after.Findings {
		if strings.HasPrefix(f.Check, "backup-") {
			t.Errorf("after a backup: %+v", f)
		}
	}
	if after.Facts.Backups.LastSuccess == "" {
		t.Error("the report does not carry the backup's time")
	}
	s.okJSON(&hist, "diagnose", "history", "--database", "hall")
	if len(hist) != 2 {
		t.Errorf("history after a second --save: %+v", hist)
	}

	if _, errs, code := s.run("diagnose", "--database", "nosuch"); code != 2 || !strings.Contains(errs, "nosuch") {
		t.Errorf("unknown database: exit %d: %s", code, errs)
	}
}

func writeFileT(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "snap.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
