package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// recordedAlerts keeps what alertFindings raised and cleared.
type recordedAlerts struct {
	raised  []notify.Event
	cleared []string
}

func (a *recordedAlerts) Raise(ev notify.Event) bool { a.raised = append(a.raised, ev); return true }

func (a *recordedAlerts) Clear(_, _, _, summary string) bool {
	a.cleared = append(a.cleared, summary)
	return true
}

// TestAlertKeepsMonthlyFindings: a daily inspection's alert set holds the
// urgent findings of the monthly checks from the newest stored monthly
// diagnosis, so a clean daily run does not clear them; a database whose
// monthly diagnosis is clean too is cleared.
func TestAlertKeepsMonthlyFindings(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("alert test"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	hs := history.Store{Repo: repo, Catalog: cat}
	snapshot := func(db, level string, at time.Time, fs ...diagnostics.Finding) *diagnostics.Report {
		t.Helper()
		r := &diagnostics.Report{Version: diagnostics.ReportVersion, Database: db, Engine: "postgres", Level: level, At: at, Findings: fs,
			Facts: &diagmodel.Facts{Version: diagmodel.Version, Engine: "postgres", Database: db, Level: level, CollectedAt: at}}
		if _, err := hs.Save(ctx, history.KindDiagnosis, db, at, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	monthlyAt := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	snapshot("hall", diagmodel.Monthly, monthlyAt, diagnostics.Finding{Check: "wraparound", Priority: 10, Object: "public.ledger"})
	snapshot("quiet", diagmodel.Monthly, monthlyAt)
	for _, db := range []string{"hall", "quiet"} {
		daily := snapshot(db, diagmodel.Daily, monthlyAt.AddDate(0, 0, 5))
		a := &recordedAlerts{}
		alertFindings(ctx, &Env{Catalog: cat, Alerts: a}, db, KindDiagnoseDaily, daily)
		switch db {
		case "hall":
			if len(a.raised) != 1 || len(a.cleared) != 0 || !strings.Contains(a.raised[0].Error, "[10] wraparound public.ledger") {
				t.Errorf("hall: raised %+v, cleared %q; want the monthly wraparound finding raised", a.raised, a.cleared)
			}
		case "quiet":
			if len(a.raised) != 0 || len(a.cleared) != 1 {
				t.Errorf("quiet: raised %+v, cleared %q; want cleared", a.raised, a.cleared)
			}
		}
	}
}

// TestDiagnosePlan: a database whose policy has a diagnostics block gets a
// daily and a monthly entry at the block's times (in daemon.timezone): due
// at once when never diagnosed, not due after a success until the next
// time, then due with the time it missed; a database without the block
// gets none.
func TestDiagnosePlan(t *testing.T) {
	cfg, diags := config.Parse([]byte(`daemon {
  timezone = "Asia/Shanghai"
}
storage "s" {
  type = "local"
  path = "/var/lib/dbopsd/repo"
}
repository {
  storage    = "s"
  passphrase = "diagnose plan test"
}
policy "p" {
  diagnostics {
    daily_time   = "06:30"
    monthly_day  = 3
    monthly_time = "02:00"
  }
}
policy "plain" {}
database "hall" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:1/hall"
  policy = "p"
}
database "other" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:1/other"
  policy = "plain"
}
`), "plan.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	sh := cfg.Daemon.Location
	for _, tc := range []struct {
		level, kind string
		last, next  time.Time // a success, and the next time after it
	}{
		{diagmodel.Daily, KindDiagnoseDaily, time.Date(2026, 11, 10, 6, 31, 0, 0, sh), time.Date(2026, 11, 11, 6, 30, 0, 0, sh)},
		{diagmodel.Monthly, KindDiagnoseMonthly, time.Date(2026, 11, 3, 2, 5, 0, 0, sh), time.Date(2026, 12, 3, 2, 0, 0, 0, sh)},
	} {
		es, err := planDiagnose(tc.level)(cfg)
		if err != nil || len(es) != 1 || es[0].Database != "hall" || es[0].Kind != tc.kind {
			t.Fatalf("%s: planned %+v, %v; want hall's entry alone", tc.level, es, err)
		}
		e := es[0]
		if d := e.Due(schedule.Facts{Site: map[string]time.Time{}}, tc.last); !d.Due || !strings.Contains(d.Why, "never diagnosed") {
			t.Errorf("%s: never diagnosed: %+v", tc.level, d)
		}
		facts := schedule.Facts{Site: map[string]time.Time{factKey(tc.kind, "hall"): tc.last}}
		if d := e.Due(facts, tc.next.Add(-time.Minute)); d.Due {
			t.Errorf("%s: due before its next time: %+v", tc.level, d)
		}
		if d := e.Due(facts, tc.next.Add(time.Hour)); !d.Due || !d.Missed.Equal(tc.next) || d.Slots != 1 || !strings.Contains(d.Why, tc.level+" diagnosis") {
			t.Errorf("%s: an hour after its next time: %+v, want due, missed %s", tc.level, d, tc.next)
		}
	}
}
