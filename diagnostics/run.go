package diagnostics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
)

// Run is one diagnostics run of one database, as the CLI and the daemon
// start it (site.DiagnoseRun builds it from the policy).
type Run struct {
	// Engine is the adapter; nil when this build cannot run the engine
	// (EngineName and EngineErr say which and why): every check is then
	// "not checked".
	Engine     engines.Engine
	EngineName string
	EngineErr  string
	Conn       engines.Conn
	// Database is the policy's name of the database; the DSN says which
	// database on the server that is.
	Database string
	Level    string
	// Catalog, when set, gives the previous snapshot (deltas, where the
	// server log was read to), the size history (forecasts) and dbopsd's
	// own backups of the database.
	Catalog *catalog.Catalog
	// Policy is the database's backup policy, for the backup age allowed.
	Policy       *config.Policy
	Thresholds   Thresholds
	Suppressions []Suppression
	Capacity     int64
	// DataPath, when set, is a directory on the volume holding the data,
	// measured with statfs (dbopsd on the database host).
	DataPath string
	Lang     i18n.Lang
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// historyDays is how far back the forecasts look.
const historyDays = 100

// Do collects and analyses. Only a cancelled ctx and an unreadable catalog
// are errors: an unreachable server or a missing capability is in the
// report.
func (r Run) Do(ctx context.Context) (*Report, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	var prev *Report
	if r.Catalog != nil {
		p, err := Previous(ctx, r.Catalog, r.Database, time.Time{})
		if err != nil {
			return nil, err
		}
		prev = p
	}
	// Tables smaller than table-bloat's threshold cannot be a finding:
	// they are not worth measuring either.
	opts := diagmodel.Options{Level: r.Level, MeasureBloatMinBytes: r.Thresholds.BloatMinBytes}
	if prev != nil && prev.Facts != nil {
		opts.Log = prev.Facts.Log
	}
	var f *diagmodel.Facts
	if r.Engine == nil {
		f = Unsupported(r.EngineName, r.Database, r.Level, r.EngineErr, "diagnostics.reason.engine", "engine", r.EngineName, "error", r.EngineErr)
	} else {
		var err error
		if f, err = Collect(ctx, r.Engine, r.Conn, "", opts); err != nil {
			return nil, err
		}
	}
	f.Database = r.Database
	if r.DataPath != "" {
		rec := diagmodel.Recorder{F: f}
		if v, err := VolumeOf(r.DataPath); err != nil {
			rec.Miss(diagmodel.AreaVolume, err.Error())
		} else {
			f.Volume = v
			rec.Got(diagmodel.AreaVolume)
		}
	}
	if r.Catalog != nil {
		b, err := BackupFacts(ctx, r.Catalog, r.Database, r.Policy, now())
		if err != nil {
			return nil, err
		}
		if r.Level != diagmodel.Monthly {
			b.History = nil // the backup trends are monthly checks: daily snapshots stay small
		}
		f.Backups = b
		diagmodel.Recorder{F: f}.Got(diagmodel.AreaBackups)
	}
	var prevFacts *diagmodel.Facts
	if prev != nil {
		prevFacts = prev.Facts
	}
	return r.analyze(ctx, f, prevFacts, now())
}

// Reanalyze analyses stored facts again under this run's thresholds and
// suppressions and this build's checks (dbopsd diagnose --from), with the
// snapshot before them from the catalog, when there is one, for deltas.
func (r Run) Reanalyze(ctx context.Context, f *diagmodel.Facts) (*Report, error) {
	var prevFacts *diagmodel.Facts
	if r.Catalog != nil {
		prev, err := Previous(ctx, r.Catalog, f.Database, f.CollectedAt)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			prevFacts = prev.Facts
		}
	}
	return r.analyze(ctx, f, prevFacts, f.CollectedAt)
}

func (r Run) analyze(ctx context.Context, f, prev *diagmodel.Facts, now time.Time) (*Report, error) {
	in := Input{Facts: f, Prev: prev, Thresholds: r.Thresholds, Suppressions: r.Suppressions, Capacity: r.Capacity,
		Lang: r.Lang, Now: now}
	if r.Catalog != nil {
		if err := readHistory(ctx, r.Catalog, &in, now); err != nil {
			return nil, err
		}
	}
	return Analyze(in), nil
}

// readHistory fills in from the stored snapshots of its database taken
// before its facts: the size and volume samples of the last historyDays
// (the forecasts) and, for a monthly diagnosis, the connection samples and
// the newest facts with table statistics of the last two months
// (session-peak, table-unread, io-hotspots, wal-volume). One read of the
// catalog serves both: the two months lie within the forecasts' history.
func readHistory(ctx context.Context, cat *catalog.Catalog, in *Input, now time.Time) error {
	f := in.Facts
	sizesSince := now.AddDate(0, 0, -historyDays)
	from, monthly := sizesSince, f.Level == diagmodel.Monthly
	monthSince := f.CollectedAt.AddDate(0, 0, -2*peakDays)
	if monthly && monthSince.Before(from) {
		from = monthSince
	}
	docs, err := cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: f.Database, Since: from, Until: f.CollectedAt})
	if err != nil {
		return err
	}
	var tablesDoc []byte
	var tablesAt time.Time
	for _, d := range docs {
		var body struct {
			Facts struct {
				CollectedAt   time.Time              `json:"collected_at"`
				Areas         []string               `json:"areas"`
				DatabaseBytes *int64                 `json:"database_bytes"`
				Volume        *diagmodel.Volume      `json:"volume"`
				Connections   *diagmodel.Connections `json:"connections"`
			} `json:"facts"`
		}
		if json.Unmarshal(d.Body, &body) != nil {
			continue
		}
		b := body.Facts
		if !d.TakenAt.Before(sizesSince) {
			if b.DatabaseBytes != nil {
				in.Sizes = append(in.Sizes, Point{At: b.CollectedAt, Value: float64(*b.DatabaseBytes)})
			}
			if b.Volume != nil && b.Volume.TotalBytes > 0 {
				in.Volumes = append(in.Volumes, Point{At: b.CollectedAt, Value: float64(b.Volume.UsedBytes)})
			}
		}
		if !monthly || d.TakenAt.Before(monthSince) {
			continue
		}
		if c := b.Connections; c != nil {
			in.Connections = append(in.Connections, ConnectionSample{At: b.CollectedAt, Total: c.Total, Max: c.Max})
		}
		if slices.Contains(b.Areas, diagmodel.AreaTables) && b.CollectedAt.After(tablesAt) {
			tablesDoc, tablesAt = d.Body, b.CollectedAt
		}
	}
	if tablesDoc != nil {
		// An unreadable snapshot leaves PrevTables nil: table-unread
		// says "not checked".
		if rep, err := DecodeReport(tablesDoc); err == nil {
			in.PrevTables = rep.Facts
		}
	}
	return nil
}

// Previous returns the newest stored report of database taken before
// until (zero: any time), nil when there is none.
func Previous(ctx context.Context, cat *catalog.Catalog, database string, until time.Time) (*Report, error) {
	d, ok, err := history.Store{Catalog: cat}.Latest(ctx, history.KindDiagnosis, database, until)
	if err != nil || !ok {
		return nil, err
	}
	rep, err := DecodeReport(d.Body)
	if err != nil {
		return nil, fmt.Errorf("diagnosis %s of %s: %w", d.ID, database, err)
	}
	return rep, nil
}

// DecodeReport reads a stored report, or bare facts (a snapshot written
// by a collector alone), of this or an older version.
func DecodeReport(body []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding a diagnosis: %w", err)
	}
	if r.Facts == nil {
		var f diagmodel.Facts
		if err := json.Unmarshal(body, &f); err != nil || f.Version == 0 {
			return nil, errors.New("decoding a diagnosis: neither a report nor facts")
		}
		r = Report{Version: ReportVersion, Database: f.Database, Engine: f.Engine, Level: f.Level, At: f.CollectedAt, Facts: &f}
	}
	if r.Facts.Version > diagmodel.Version {
		return nil, fmt.Errorf("the snapshot's facts are of model version %d; this build reads up to %d", r.Facts.Version, diagmodel.Version)
	}
	return &r, nil
}

// BackupFacts reads dbopsd's own backups of database from the catalog:
// the last success, its verification, this month's failures, and the age
// the policy allows.
func BackupFacts(ctx context.Context, cat *catalog.Catalog, database string, p *config.Policy, now time.Time) (*diagmodel.Backups, error) {
	b := &diagmodel.Backups{MaxAgeSeconds: BackupMaxAge(p).Seconds(), WindowSeconds: windowSeconds(p)}
	backups, err := cat.Backups(ctx, database)
	if err != nil {
		return nil, err
	}
	b.History = backupHistory(backups, now.AddDate(0, 0, -backupHistoryDays)) // checks_backup.go
	for _, x := range backups {
		if x.FinishedAt.After(b.LastSuccess) {
			b.LastSuccess = x.FinishedAt
		}
		if !x.VerifiedAt.IsZero() && x.VerifiedAt.After(b.LastVerified) {
			b.LastVerified, b.VerifyStatus = x.VerifiedAt, x.VerifyStatus
		}
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	jobs, err := cat.Jobs(ctx, catalog.JobFilter{Database: database, Kind: "backup", Since: month})
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		switch j.Status {
		case catalog.StatusOK:
			b.OKMonth++
		case catalog.StatusFailed:
			b.FailedMonth++
		}
		if j.Status != catalog.StatusRunning {
			b.LastStatus = j.Status
		}
	}
	return b, nil
}

// BackupMaxAge is how old the last backup may be under policy p: a day
// more than the interval between its backups (weekly differentials: 8
// days). A cron schedule, or no policy, gets the default of the
// backup-age check.
func BackupMaxAge(p *config.Policy) time.Duration {
	day := 24 * time.Hour
	if p == nil {
		return DefaultThresholds().BackupMaxAge
	}
	switch p.Differential {
	case "weekly":
		return 8 * day
	case "biweekly":
		return 15 * day
	case "none":
		switch p.Full {
		case "monthly":
			return 32 * day
		case "quarterly":
			return 93 * day
		}
	}
	return DefaultThresholds().BackupMaxAge
}
