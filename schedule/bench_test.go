package schedule

import (
	"context"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/policytest"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
)

// catHistory reads facts from a real catalog, as the daemon does.
type catHistory struct{ cat *catalog.Catalog }

func (h catHistory) Facts(ctx context.Context) (Facts, error) {
	latest, err := h.cat.Latest(ctx)
	if err != nil {
		return Facts{}, err
	}
	site, err := h.cat.LastSuccesses(ctx, KindPrune, KindMirror)
	if err != nil {
		return Facts{}, err
	}
	f := Facts{DB: map[string]DBFacts{}, Site: map[string]time.Time{}}
	for db, l := range latest {
		f.DB[db] = DBFacts{Full: l.Full, FullID: l.FullID, FullVerify: l.FullVerify, Backup: l.Backup,
			BackupID: l.BackupID, BackupVerify: l.BackupVerify, Verified: l.Verified}
	}
	for k, byDB := range site {
		if t, ok := byDB[""]; ok {
			f.Site[k] = t
		}
	}
	return f, nil
}

// useCatalog makes the simulation read and write a real catalog, seeded
// with a success at every entry's last slot.
func (m *sim) useCatalog(tb testing.TB) {
	cat, err := catalog.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cat.Close() })
	ctx := context.Background()
	start := m.clock.Now()
	n := 0
	add := func(db, typ string, at time.Time) string {
		n++
		id := fmt.Sprintf("%s-%d", typ, n)
		if err := cat.AddBackup(ctx, catalog.Backup{ID: id, Database: db, Engine: "postgres", Type: typ, Generation: id,
			StartedAt: at, FinishedAt: at.Add(time.Minute), Status: catalog.StatusOK}); err != nil {
			tb.Fatal(err)
		}
		return id
	}
	lastFull := map[string]time.Time{}
	for _, e := range m.plan.Entries {
		if e.Spec == nil {
			continue
		}
		prev := Prev(e.Spec, start, 120*24*time.Hour)
		switch e.Kind {
		case KindFull:
			id := add(e.Database, KindFull, prev)
			lastFull[e.Database] = prev
			_ = cat.SetVerified(ctx, id, "ok", prev.Add(time.Hour))
		case KindDifferential:
			if prev.After(lastFull[e.Database]) {
				id := add(e.Database, KindDifferential, prev)
				_ = cat.SetVerified(ctx, id, "ok", prev.Add(time.Hour))
			}
		case KindVerify:
			f, err := catHistory{cat}.Facts(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			_ = cat.SetVerified(ctx, f.DB[e.Database].BackupID, "ok", prev)
		case KindPrune:
			if _, err := cat.RecordJob(ctx, catalog.Job{Kind: KindPrune, StartedAt: prev}, nil); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if _, err := cat.RecordJob(ctx, catalog.Job{Kind: KindMirror, StartedAt: start}, nil); err != nil {
		tb.Fatal(err)
	}
	m.history = catHistory{cat}
	m.runner.record = func(r *simRun) error {
		t := r.task
		switch t.Kind {
		case KindFull, KindDifferential:
			add(t.Database, t.Kind, r.start)
		case KindVerify:
			f, err := catHistory{cat}.Facts(ctx)
			if err != nil {
				return err
			}
			id := t.Backup
			if id == "" {
				id = f.DB[t.Database].BackupID
			}
			return cat.SetVerified(ctx, id, "ok", r.start)
		default:
			_, err := cat.RecordJob(ctx, catalog.Job{Kind: t.Kind, Database: t.Database, StartedAt: r.start}, nil)
			return err
		}
		return nil
	}
}

// BenchmarkSchedulerMinute is the scheduler's cost per minute of simulated
// time for 500 databases, sweeping every minute as the daemon does: one op
// is one simulated minute (the gocron timers, the sweep's evaluation of
// 1,500 entries, the jobs that come due). The simulation starts on a
// Saturday 00:00, so the first ~1,500 minutes take in the Saturday
// verifications and Sunday's weekly and biweekly differentials.
func BenchmarkSchedulerMinute(b *testing.B) {
	for _, hist := range []string{"memory", "catalog"} {
		b.Run(hist+"/500", func(b *testing.B) {
			loc, _ := time.LoadLocation("Asia/Shanghai")
			start := time.Date(2025, 6, 14, 0, 0, 0, 0, loc)
			m := newSim(b, policytest.Synthetic(500, "/nonexistent"), start)
			m.runner.duration = map[string]time.Duration{KindFull: 30 * time.Minute, KindDifferential: 5 * time.Minute,
				KindVerify: 10 * time.Minute, KindPrune: time.Minute, KindMirror: time.Minute}
			if hist == "catalog" {
				m.useCatalog(b)
			} else {
				m.seed()
			}
			m.opts.SweepInterval = time.Minute
			m.start(start.Add(-time.Minute))
			b.ResetTimer()
			m.advance(start.Add(time.Duration(b.N)*time.Minute), time.Minute)
			b.StopTimer()
			b.ReportMetric(float64(m.runner.started)/float64(b.N), "jobs/sim-minute")
			m.stop()
		})
	}
}
