package site

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/prune"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/restore"
)

// The jobs a policy describes, built in one place for the CLI, the daemon
// and the signed requests: the same database gets the same engine, the
// same connection, the same parallelism and the same object-lock date
// whoever starts the job. Callers add only what is theirs: the repository
// they opened, who started the job, and how progress is shown.

// Run is what every job takes from whoever starts it rather than from the
// policy.
type Run struct {
	// Repo is the repository the job reads or writes (OpenRepository).
	Repo    *repository.Repo
	Catalog *catalog.Catalog
	// Trigger ("cli", "schedule", "request", ...) and OSUser go into the
	// job log.
	Trigger, OSUser string
	Logger          hclog.Logger
	// Parallel, when above 0, overrides the policy's parallel (a --parallel
	// flag).
	Parallel int
}

// Parallel is how many tables a job of db reads or loads at once: override
// when above 0, else the policy's parallel, else the policy default.
func Parallel(cfg *config.Config, db *config.Database, override int) int {
	if override > 0 {
		return override
	}
	if p := cfg.PolicyFor(db); p != nil && p.Parallel > 0 {
		return p.Parallel
	}
	return config.DefaultPolicyParallel
}

// BackupJob is the backup of database db of type typ (repository.Full or
// repository.Differential) under its policy. The caller may set Progress.
func BackupJob(cfg *config.Config, db *config.Database, typ string, run Run) (backup.Job, error) {
	if run.Repo == nil {
		return backup.Job{}, errors.New("site: a backup job needs a repository")
	}
	configureMSSQL(cfg, run.Logger)
	eng, err := Engine(db.Engine)
	if err != nil {
		return backup.Job{}, err
	}
	pol := cfg.PolicyFor(db)
	var maxRatio float64
	if pol != nil {
		maxRatio = pol.DifferentialMaxRatio
	}
	return backup.Job{
		Database: db.Name, Engine: eng, Conn: SourceConn(cfg, db), Type: typ,
		MaxDiffRatio: maxRatio, Parallel: Parallel(cfg, db, run.Parallel), Repo: run.Repo, Catalog: run.Catalog,
		Trigger: run.Trigger, OSUser: run.OSUser, RetainUntil: RetainUntil(cfg, pol, time.Now()), Logger: run.Logger,
		TempDir: filepath.Join(cfg.Daemon.StateDir, "tmp"), NoCompression: db.NoCompression,
	}, nil
}

// CheckRestore says whether backups of db can be restored onto target t by
// this build: the same engine, and one the build has. RestoreRequest
// checks it too; callers check it first when it should fail before the
// repository is opened.
func CheckRestore(db *config.Database, t *config.RestoreTarget) error {
	if t.Engine != db.Engine {
		return fmt.Errorf("restore target %q is %s, database %q is %s", t.Name, t.Engine, db.Name, db.Engine)
	}
	_, err := Engine(db.Engine)
	return err
}

// RestoreRequest is the restore of backup backupID ("" the newest) of
// database db onto restore target t. The caller sets what the person
// asking chose: As, Tables, Replace (and Progress).
func RestoreRequest(cfg *config.Config, db *config.Database, t *config.RestoreTarget, backupID string, run Run) (restore.Request, error) {
	if err := CheckRestore(db, t); err != nil {
		return restore.Request{}, err
	}
	if run.Repo == nil {
		return restore.Request{}, errors.New("site: a restore needs a repository")
	}
	configureMSSQL(cfg, run.Logger)
	eng, err := Engine(db.Engine)
	if err != nil {
		return restore.Request{}, err
	}
	return restore.Request{
		Database: db.Name, BackupID: backupID, Engine: eng, Repo: run.Repo, Catalog: run.Catalog,
		Target: RestoreTarget(cfg, t), Parallel: Parallel(cfg, db, run.Parallel),
		Trigger: run.Trigger, OSUser: run.OSUser, Logger: run.Logger,
	}, nil
}

// VerifyTarget is the scratch target the policy of db verifies on
// (verify_target).
func VerifyTarget(cfg *config.Config, db *config.Database) (*config.RestoreTarget, error) {
	pol := cfg.PolicyFor(db)
	if pol == nil {
		return nil, fmt.Errorf("verifying %s: the database has no policy", db.Name)
	}
	t, err := cfg.RestoreTarget(pol.VerifyTarget)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", db.Name, err)
	}
	return t, nil
}

// VerifyRequest is the verification of backup backupID ("" the newest) of
// database db on scratch target t, or, when t is nil, on the policy's
// VerifyTarget.
func VerifyRequest(cfg *config.Config, db *config.Database, t *config.RestoreTarget, backupID string, run Run) (restore.Request, error) {
	if t == nil {
		var err error
		if t, err = VerifyTarget(cfg, db); err != nil {
			return restore.Request{}, err
		}
	}
	return RestoreRequest(cfg, db, t, backupID, run)
}

// DrillSpec is the drill a signed request the Gate accepted asks for: the
// engine, the target's connection, the scenario, the state directory and
// the report language from the policy, with run's repository, catalog and
// logger. The caller resolves the backup (Spec.BackupID) when it must name
// it before the drill starts, and may set Progress.
func DrillSpec(cfg *config.Config, acc *request.Accepted, run Run) (drill.Spec, error) {
	if acc == nil || acc.Request == nil {
		return drill.Spec{}, errors.New("no accepted request")
	}
	r := acc.Request
	if r.Action != request.ActionDrill {
		return drill.Spec{}, fmt.Errorf("request %s is a %s, not a drill", r.ID, r.Action)
	}
	if acc.Database == nil || acc.Target == nil {
		return drill.Spec{}, fmt.Errorf("request %s: the accepted request names no database or restore target", r.ID)
	}
	db, t := acc.Database, acc.Target
	if t.Engine != db.Engine {
		return drill.Spec{}, fmt.Errorf("request %s: restore target %q is %s, database %q is %s", r.ID, t.Name, t.Engine, db.Name, db.Engine)
	}
	configureMSSQL(cfg, run.Logger)
	eng, err := Engine(db.Engine)
	if err != nil {
		return drill.Spec{}, fmt.Errorf("request %s: %w", r.ID, err)
	}
	trigger := run.Trigger
	if trigger == "" {
		trigger = "request"
	}
	s := drill.Spec{
		ID: r.ID, Database: db.Name, BackupID: r.Parameters.Backup, Engine: eng, Repo: run.Repo, Catalog: run.Catalog,
		Target: RestoreTarget(cfg, t), As: r.Parameters.As, Tables: acc.Tables, Replace: r.Parameters.Replace,
		Parallel: Parallel(cfg, db, run.Parallel), Request: drill.RequestFrom(acc), SourceServer: db.Server(),
		StateDir: cfg.Daemon.StateDir, Language: drill.ReportLanguage(cfg), Location: cfg.Daemon.Location,
		Trigger: trigger, OSUser: run.OSUser, Logger: run.Logger,
	}
	s.Scenario = drill.ScenarioOf(s.Tables, s.SourceServer, t.Server())
	return s, nil
}

// Prune runs prune.Run with the repository opened through this package.
func Prune(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, opts prune.Options) (*prune.Result, error) {
	opts.Open = func(ctx context.Context, name string, log hclog.Logger) (*repository.Repo, error) {
		return OpenRepository(ctx, cfg, name, log)
	}
	return prune.Run(ctx, cfg, cat, opts)
}

// ReportJob is the run of report block rep: its databases (database, when
// not "", only that one), its font and language (lang, when not "",
// overrides), its notify blocks as mailers and the policy's other notify
// blocks that take rep's event as alerts. period is "" for the last
// complete month or week. Sources are reportSources' (report_stored.go); the caller sets
// Out and Send.
func ReportJob(cfg *config.Config, rep *config.Report, period, database, lang string, run Run) (report.Job, error) {
	l, err := i18n.NormalizeLang(cmp.Or(lang, rep.Language))
	if err != nil {
		return report.Job{}, err
	}
	names := rep.Databases
	if len(names) == 0 {
		names = slices.Sorted(maps.Keys(cfg.Databases))
	}
	var dbs []report.DB
	for _, n := range names {
		if database == "" || n == database {
			dbs = append(dbs, report.DB{Name: n, Engine: cfg.Databases[n].Engine})
		}
	}
	if len(dbs) == 0 {
		return report.Job{}, fmt.Errorf("report %q does not cover database %q", rep.Name, database)
	}
	if run.Logger == nil {
		run.Logger = hclog.NewNullLogger()
	}
	event := report.AlertEvent(rep.Kind)
	d := report.DeliverOptions{Event: event, Logger: run.Logger}
	for _, name := range slices.Sorted(maps.Keys(cfg.Notifies)) {
		n := cfg.Notifies[name]
		mine := slices.Contains(rep.Notify, name)
		switch {
		case mine && n.Type == "email":
			e, err := notify.NewEmail(n, nil)
			if err != nil {
				return report.Job{}, err
			}
			d.Mailers = append(d.Mailers, e)
		case n.Type == "webhook" && (mine || slices.Contains(n.Events, event)):
			w, err := notify.NewWebhook(n, nil)
			if err != nil {
				return report.Job{}, err
			}
			d.Alerts = append(d.Alerts, w)
		case n.Type == "email" && slices.Contains(n.Events, event):
			e, err := notify.NewEmail(n, nil)
			if err != nil {
				return report.Job{}, err
			}
			d.Alerts = append(d.Alerts, e)
		}
	}
	return report.Job{Kind: rep.Kind, Block: rep.Name, Period: period, Loc: cfg.Daemon.Location, Site: rep.Site, PerDB: rep.Per == config.ReportPerDatabase,
		Databases: dbs, Lang: l, FontPath: rep.Font, PDF: true, AllDictionaries: rep.Dictionaries == config.DictionariesAll, Catalog: run.Catalog, StateDir: cfg.Daemon.StateDir,
		RegisterPath: filepath.Join(cfg.Daemon.StateDir, register.FileName), Store: history.Store{Repo: run.Repo, Catalog: run.Catalog},
		Deliver: d, Trigger: run.Trigger, OSUser: run.OSUser, Logger: run.Logger,
		Sources: reportSources(cfg, run, l),
		Anchors: func(ctx context.Context) ([]register.Anchor, error) {
			st, err := OpenStorage(ctx, cfg, cfg.Repository.Storage, run.Logger)
			if err != nil {
				return nil, err
			}
			return register.ListAnchors(ctx, st, register.AnchorPrefix)
		}}, nil
}

// MaintenanceTarget is db as table maintenance works on it: its engine's
// maintenance capability and its source connection.
func MaintenanceTarget(cfg *config.Config, db *config.Database) (maintenance.Target, error) {
	return maintenance.TargetFor(cfg, db, SourceConn(cfg, db))
}

// DiagnoseRun is the diagnostics run of database db at level ("daily" or
// "monthly") under the policy's diagnostics { } settings. An engine this
// build cannot run gives a run whose checks all say "not checked".
func DiagnoseRun(cfg *config.Config, db *config.Database, level string, cat *catalog.Catalog) diagnostics.Run {
	lang, _ := i18n.NormalizeLang(drill.ReportLanguage(cfg))
	r := diagnostics.Run{EngineName: db.Engine, Conn: SourceConn(cfg, db), Database: db.Name, Level: level,
		Catalog: cat, Policy: cfg.PolicyFor(db), Lang: lang}
	diagnosticsPolicy(cfg, db, &r)
	eng, err := Engine(db.Engine)
	if err != nil {
		r.EngineErr = err.Error()
		return r
	}
	r.Engine = eng
	return r
}
