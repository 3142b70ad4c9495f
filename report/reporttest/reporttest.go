// Package reporttest fills a state directory with history for report
// tests and benchmarks: backups, failures, verifications, prune and mirror
// runs in the catalog, restore and drill requests in the register, and
// Sources standing in for the diagnostics and the dictionary/volume
// collectors (which store their own data once merged).
package reporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/report"
)

// History is what Generate writes.
type History struct {
	Databases []string
	// Months of history up to and including the month starting at Last.
	Months int
	Last   time.Time // first day of the newest month, in its location
	Seed   uint64
}

// Generate writes h into the catalog and register of stateDir: per
// database a full every Sunday and a differential every other day, about
// one failed backup a month (resolved the next day, except in the newest
// month for the second database), a verification every week (one failed),
// a restore and a drill a month. Sizes grow month by month.
func Generate(t testing.TB, stateDir string, h History) {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	reg, err := register.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rng := rand.New(rand.NewPCG(h.Seed, 7))
	first := h.Last.AddDate(0, -(h.Months - 1), 0)
	end := h.Last.AddDate(0, 1, 0)
	seq := 0
	for di, db := range h.Databases {
		base := int64(200+100*di) << 20
		for day := first; day.Before(end); day = day.AddDate(0, 0, 1) {
			monthIdx := (day.Year()-first.Year())*12 + int(day.Month()-first.Month())
			size := base + int64(monthIdx)*(int64(20+5*di)<<20) + int64(rng.IntN(4<<20))
			at := day.Add(time.Hour + time.Duration(di)*time.Minute)
			typ := ""
			switch {
			case day.Weekday() == time.Sunday:
				typ = "full"
			case day.YearDay()%2 == 0:
				typ = "differential"
			}
			if typ == "" {
				continue
			}
			if day.Day() == 10 && typ == "differential" || (day.Day() == 9 && typ == "differential") {
				// one failure a month; in the newest month the second database's stays unresolved
				if _, err := cat.RecordJob(ctx, catalog.Job{Kind: "backup", Database: db, RequestedType: typ, StartedAt: at, Trigger: "schedule"},
					errors.New("dumping "+db+": connection refused (server restarting)")); err != nil {
					t.Fatal(err)
				}
				if !(di == 1 && day.Year() == h.Last.Year() && day.Month() == h.Last.Month()) {
					continue
				}
			}
			if di == 1 && !day.Before(h.Last) && day.Day() >= 9 {
				continue // the second database stops backing up after its failure in the newest month
			}
			stored, secs := size/3, float64(size>>20)/20+float64(rng.IntN(30))
			if typ == "differential" {
				stored, secs = size/40, secs/5
			}
			seq++
			id := fmt.Sprintf("%s-%s-%04d", at.UTC().Format("20060102T150405Z"), db, seq)
			b := catalog.Backup{ID: id, Database: db, Engine: "postgres", Type: typ, Generation: "g1", StartedAt: at,
				FinishedAt: at.Add(time.Duration(secs * float64(time.Second))), DurationSeconds: secs, RawBytes: size,
				StoredBytes: stored, ReferencedBytes: stored, Tables: 40, Rows: size / 200, Status: "ok"}
			if err := cat.AddBackup(ctx, b); err != nil {
				t.Fatal(err)
			}
			if typ == "full" {
				ok := !(day.Day() <= 7 && di == 2 && monthIdx == h.Months-1)
				var verr error
				if !ok {
					verr = errors.New("verifying " + id + ": row count of public.orders differs")
				}
				rto := secs * 1.6
				if _, err := cat.RecordJob(ctx, catalog.Job{Kind: "verify", Database: db, BackupID: id, StartedAt: at.Add(2 * time.Hour),
					Trigger: "schedule", Details: map[string]any{"duration_seconds": rto}}, verr); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for m := first; m.Before(end); m = m.AddDate(0, 1, 0) {
		for i, job := range []string{"prune", "mirror"} {
			j := catalog.Job{Kind: job, Target: "offsite", StartedAt: m.AddDate(0, 0, 2+i).Add(3 * time.Hour), Trigger: "schedule",
				Details: map[string]any{"deleted_backups": 4}}
			if _, err := cat.RecordJob(ctx, j, nil); err != nil {
				t.Fatal(err)
			}
		}
		for i, db := range h.Databases[:min(2, len(h.Databases))] {
			action := []string{"restore", "drill"}[i]
			at := m.AddDate(0, 0, 14+i).Add(10 * time.Hour)
			reqID := fmt.Sprintf("req-%s-%s", m.Format("2006-01"), action)
			recv, err := reg.Append(register.Entry{Time: at, Kind: register.Received, Request: reqID, Action: action, Database: db, Requester: "张三", Reason: "月度恢复验证"})
			if err != nil {
				t.Fatal(err)
			}
			steps := []register.Entry{
				{Time: at.Add(time.Minute), Kind: register.Approved, Ref: recv.Seq, Request: reqID, Signer: "李四"},
				{Time: at.Add(2 * time.Minute), Kind: register.Accepted, Ref: recv.Seq, Request: reqID, Action: action, Database: db, Approvers: []string{"李四"}},
				{Time: at.Add(3 * time.Minute), Kind: register.Started, Ref: recv.Seq, Request: reqID, Action: action, Database: db},
				{Time: at.Add(20 * time.Minute), Kind: register.Finished, Ref: recv.Seq, Request: reqID, Outcome: register.Succeeded, DurationMS: 17 * 60 * 1000},
			}
			for _, e := range steps {
				if _, err := reg.Append(e); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// Sources are in-memory report sources with findings, volume samples,
// schema changes, connection peaks (daily too) and space forecasts for every database
// of h: the first database's volume grows toward 85 % and 90 % full, the
// second's has too few samples for a forecast, the others have none.
func Sources(h History) report.Sources {
	s := &sources{h: h}
	return report.Sources{Findings: s, Volume: s, Schema: s, Connections: s, Forecasts: s, Dictionary: s}
}

type sources struct{ h History }

func (s *sources) Findings(_ context.Context, db string, from, to time.Time) ([]report.Finding, error) {
	var out []report.Finding
	checks := []struct{ check, group, prio, finding, object string }{
		{"unused_index", "索引", report.PriorityMedium, "索引从未被使用", "public.orders_note_idx"},
		{"table_bloat", "空间", report.PriorityHigh, "表膨胀率 38%", "public.events"},
		{"superuser_login", "安全", report.PriorityUrgent, "应用账号具有超级用户权限", "app_user"},
		{"missing_pk", "结构", report.PriorityLow, "表没有主键", "public.audit_log"},
	}
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		for i, c := range checks {
			if (i == 2 && db != s.h.Databases[0]) || (day.Day()%(i+2) != 0) {
				continue
			}
			out = append(out, report.Finding{Database: db, Check: c.check, Group: c.group, Priority: c.prio, Finding: c.finding, Object: c.object,
				Details: "检查于 " + day.Format("2006-01-02"), Seen: day.Add(6 * time.Hour), New: day.Day() <= 8, Resolved: i == 3 && day.Day() > 20,
				Suppressed: i == 0 && day.Day() > 25, Link: "checks/" + c.check + ".html"})
		}
	}
	return out, nil
}

func (s *sources) Volume(_ context.Context, db string, from, to time.Time) ([]report.VolumeSample, error) {
	var out []report.VolumeSample
	i := int64(len(db))
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		k := int64(len(out))
		out = append(out, report.VolumeSample{Month: m, Rows: 1_000_000*i + 50_000*k, Bytes: (300 + 25*k) << 20,
			Tables: []report.TableVolume{{Name: "public.人口信息", Registered: true, Rows: 400_000 + 1000*k, Bytes: 90 << 20}, {Name: "public.events", Rows: 600_000 + 49_000*k, Bytes: 210 << 20}}})
	}
	return out, nil
}

func (s *sources) SpaceForecasts(_ context.Context, db string, to time.Time) ([]report.Forecast, error) {
	at := to.Add(-21 * time.Hour)
	switch {
	case db == s.h.Databases[0]:
		return []report.Forecast{
			{At: at, Series: "volume", LimitPct: 85, Status: report.ForecastDays, DaysMin: 400, DaysMax: 440, SlopePerDay: 1 << 20, Text: "volume 达到 85%：约 400–440 天"},
			{At: at, Series: "volume", LimitPct: 90, Status: report.ForecastDays, DaysMin: 490, DaysMax: 530, SlopePerDay: 1 << 20, Text: "volume 达到 90%：约 490–530 天"},
		}, nil
	case len(s.h.Databases) > 1 && db == s.h.Databases[1]:
		return []report.Forecast{
			{At: at, Series: "volume", LimitPct: 85, Status: "insufficient", Text: "volume 达到 85%：数据不足（9 个每日样本，至少需要 14 个）"},
			{At: at, Series: "volume", LimitPct: 90, Status: "insufficient", Text: "volume 达到 90%：数据不足（9 个每日样本，至少需要 14 个）"},
		}, nil
	}
	return nil, nil
}

func (s *sources) SchemaChanges(_ context.Context, db string, from, _ time.Time) ([]report.SchemaChange, error) {
	if db != s.h.Databases[0] {
		return nil, nil
	}
	return []report.SchemaChange{{At: from.AddDate(0, 0, 5), Object: "public.orders.remark", Change: "新增列 varchar(200)"}}, nil
}

func (s *sources) ConnectionPeak(_ context.Context, db string, _, _ time.Time) (int, bool, error) {
	return 40 + len(db), true, nil
}

// ConnectionDays: a weekly rhythm under max_connections 100, with a
// peak that touches 90 on the 15th.
func (s *sources) ConnectionDays(_ context.Context, db string, from, to time.Time) ([]report.ConnectionDay, error) {
	var out []report.ConnectionDay
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		peak := 30 + 5*(day.Day()%7) + len(db)
		if day.Day() == 15 {
			peak = 90
		}
		out = append(out, report.ConnectionDay{Day: day, Peak: peak, Max: 100})
	}
	return out, nil
}

func (s *sources) DictionaryXLSX(_ context.Context, db string) ([]byte, bool, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "表结构"); err != nil {
		return nil, false, err
	}
	for i, row := range [][]any{{"表", "列", "类型"}, {"public.orders", "remark", "varchar(200)"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("表结构", cell, &row); err != nil {
			return nil, false, err
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, false, err
	}
	return b.Bytes(), true, nil
}
