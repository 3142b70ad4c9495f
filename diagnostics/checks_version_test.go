package diagnostics

import (
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
)

func versionFacts(engine, version string, at time.Time) *diagmodel.Facts {
	return &diagmodel.Facts{Version: diagmodel.Version, Engine: engine, Database: "d", Level: diagmodel.Monthly,
		CollectedAt: at, Areas: []string{diagmodel.AreaServer}, Server: &diagmodel.Server{Version: version, StartedAt: at.Add(-time.Hour)}}
}

// TestVersionTable: each major of the table, a server behind, current,
// ahead, past its end of life, and unknown.
func TestVersionTable(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		engine, version string
		at              time.Time
		want            string // "" none, "behind", "eol", "not_checked"
	}{
		{"postgres", "12.22 (Debian 12.22-1.pgdg120+1)", now, "eol"},
		{"postgres", "13.23", now, "eol"},
		{"postgres", "13.10", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), "behind"}, // before 13's end of life
		{"postgres", "14.22", now, "eol"},
		{"postgres", "15.4 (Debian 15.4-1)", now, "behind"},
		{"postgres", "15.20", now, ""},
		{"postgres", "16.15", now, "behind"},
		{"postgres", "16.16", now, ""},
		{"postgres", "17.12", now, ""},
		{"postgres", "17.2", now, "behind"},
		{"postgres", "18.7", now, ""},
		{"postgres", "18.8", now, ""}, // newer than this build knows: not behind
		{"postgres", "19.1", now, "not_checked"},
		{"mysql", "10.5.29-MariaDB", now, "eol"},
		{"mysql", "10.6.20-MariaDB-log", now, "behind"},
		{"mysql", "10.6.28-MariaDB", now, ""},
		{"mysql", "10.11.6-MariaDB-0+deb12u1", now, "behind"},
		{"mysql", "10.11.19-MariaDB", now, ""},
		{"mysql", "11.4.11-MariaDB", now, ""},
		{"mysql", "11.4.2-MariaDB", now, "behind"},
		{"mysql", "11.8.10-MariaDB", now, ""},
		{"mysql", "11.8.3-MariaDB-ubu2404", now, "behind"},
		{"mysql", "8.0.36", now, "eol"},
		{"mysql", "8.4.13", now, ""},
		{"mysql", "8.4.0", now, "behind"},
		{"mysql", "12.1.2-MariaDB", now, "not_checked"},
	} {
		t.Run(c.engine+" "+c.version, func(t *testing.T) {
			r := Analyze(Input{Facts: versionFacts(c.engine, c.version, c.at), Lang: i18n.EN})
			got := ""
			var fd Finding
			for _, f := range r.Findings {
				if f.Check != "version-patch" {
					continue
				}
				fd = f
				switch {
				case f.NotChecked:
					got = "not_checked"
				case f.Message.Key == "diagnostics.check.version-patch.finding_eol":
					got = "eol"
				default:
					got = "behind"
				}
			}
			if got != c.want {
				t.Fatalf("got %q (%+v), want %q", got, fd, c.want)
			}
			switch got {
			case "eol":
				if fd.Priority != eolPriority || !strings.Contains(fd.Finding, "end of life") || !strings.Contains(fd.Details, releasesAsOf) {
					t.Errorf("end-of-life finding: %+v", fd)
				}
			case "behind":
				if fd.Priority != 100 || !strings.Contains(fd.Finding, c.version) {
					t.Errorf("behind finding: %+v", fd)
				}
			}
		})
	}
}

// TestVersionPageDated: the check page says the table is compiled in and
// gives its date, the same as the code's.
func TestVersionPageDated(t *testing.T) {
	p := Pages()["version-patch.md"]
	for _, want := range []string{releasesAsOf, "编入程序", "compiled into the program"} {
		if !strings.Contains(p, want) {
			t.Errorf("version-patch page lacks %q", want)
		}
	}
	for engine, majors := range releases {
		for major, rel := range majors {
			if got := majorOf(engine, versionParts(rel.Newest)); got != major {
				t.Errorf("%s %s: newest %s is of major %q", engine, major, rel.Newest, got)
			}
		}
	}
}
