package diagnostics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	_ "github.com/dbopsd/dbopsd/engines/all"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/internal/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// testThresholds are low enough for conditions a test can create in
// seconds.
func testThresholds() diagnostics.Thresholds {
	t := diagnostics.DefaultThresholds()
	t.LongTransaction = time.Second
	t.IdleInTransaction = time.Second
	t.BlockedWait = 0
	t.BigTableBytes = 1 << 20
	t.BloatMinBytes = 256 << 10
	t.BloatPct = 30
	t.UnusedIndexBytes = 0
	return t
}

func collect(t *testing.T, engine string, c engines.Conn, level string, log *diagmodel.Log) *diagmodel.Facts {
	t.Helper()
	return collectOpts(t, engine, c, diagmodel.Options{Level: level, Log: log})
}

// collectOpts is collect with every option the caller's to set.
func collectOpts(t *testing.T, engine string, c engines.Conn, opts diagmodel.Options) *diagmodel.Facts {
	t.Helper()
	eng, err := engines.New(engine)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := diagnostics.Collect(ctx, eng, c, "", opts)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if f.Unreachable != "" {
		t.Fatalf("collect: unreachable: %s", f.Unreachable)
	}
	return f
}

func analyze(f, prev *diagmodel.Facts) *diagnostics.Report {
	return diagnostics.Analyze(diagnostics.Input{Facts: f, Prev: prev, Thresholds: testThresholds()})
}

// found returns the findings of check (not "not checked") whose object
// contains obj.
func found(r *diagnostics.Report, check, obj string) []diagnostics.Finding {
	var out []diagnostics.Finding
	for _, f := range r.Findings {
		if f.Check == check && !f.NotChecked && strings.Contains(f.Object, obj) {
			out = append(out, f)
		}
	}
	return out
}

func status(r *diagnostics.Report, check string) diagnostics.CheckRun {
	for _, c := range r.Checks {
		if c.ID == check {
			return c
		}
	}
	return diagnostics.CheckRun{}
}

func wantFinding(t *testing.T, r *diagnostics.Report, check, obj string) diagnostics.Finding {
	t.Helper()
	fs := found(r, check, obj)
	if len(fs) == 0 {
		t.Errorf("no %s finding about %q; status %+v; findings:\n%s", check, obj, status(r, check), listFindings(r))
		return diagnostics.Finding{}
	}
	f := fs[0]
	if f.Finding == "" || f.Details == "" || f.Recommendation == "" || f.Link != "docs/checks/"+check+".md" || f.Priority < 1 {
		t.Errorf("%s finding incomplete: %+v", check, f)
	}
	return f
}

func wantNoFinding(t *testing.T, r *diagnostics.Report, check, obj string) {
	t.Helper()
	if st := status(r, check); st.Status != diagnostics.StatusRan {
		t.Errorf("%s did not run on the clean server: %+v", check, st)
	}
	if fs := found(r, check, obj); len(fs) > 0 {
		t.Errorf("clean server: unexpected %s finding: %+v", check, fs)
	}
}

func listFindings(r *diagnostics.Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString("  " + f.Check + " [" + f.Object + "] " + f.Finding + " / " + f.Details + "\n")
	}
	return b.String()
}

// wantLeastPrivilege: every check ran, was not applicable, or says "not
// checked" with a reason, with a finding of its own; none aborted.
func wantLeastPrivilege(t *testing.T, r *diagnostics.Report, mustSkip ...string) {
	t.Helper()
	ran, skipped := 0, 0
	for _, c := range r.Checks {
		switch c.Status {
		case diagnostics.StatusRan:
			ran++
		case diagnostics.StatusNotApplicable:
		case diagnostics.StatusNotChecked:
			skipped++
			if c.Reason == "" {
				t.Errorf("%s not checked without a reason", c.ID)
			}
			ok := false
			for _, f := range r.Findings {
				if f.Check == c.ID && f.NotChecked && f.Details != "" &&
					(strings.Contains(f.Details, c.Reason) || f.DetailsMessage.Key != "diagnostics.not_checked_details") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s not checked, but no finding says so with the reason", c.ID)
			}
		default:
			t.Errorf("%s: status %q", c.ID, c.Status)
		}
	}
	if r.Ran != ran || r.NotChecked != skipped || ran == 0 {
		t.Errorf("report counts ran=%d not_checked=%d, checks say %d and %d", r.Ran, r.NotChecked, ran, skipped)
	}
	for _, id := range mustSkip {
		if st := status(r, id); st.Status != diagnostics.StatusNotChecked {
			t.Errorf("as the least-privileged user, %s: %+v, want not checked", id, st)
		}
	}
	t.Logf("least privilege: %d checks ran, %d not checked", ran, skipped)
}
