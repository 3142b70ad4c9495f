package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/when"
)

// Config is a whole, validated policy file. Maps are keyed by block label.
type Config struct {
	// Path is the file the configuration was read from.
	Path string

	Daemon         Daemon
	Storages       map[string]*Storage
	Repository     Repository
	Policies       map[string]*Policy
	Databases      map[string]*Database
	RestoreTargets map[string]*RestoreTarget
	Signers        map[string]*Signer
	Approvals      Approvals
	Notifies       map[string]*Notify
	Reports        map[string]*Report
	Reconciles     map[string]*Reconcile // reconcile.go
	Volume         Volume                // policy_volume.go
}

// Daemon is the daemon { } block. Zero values are replaced by defaults.
type Daemon struct {
	StateDir    string         // default "/var/lib/dbopsd"
	Socket      string         // default "/run/dbopsd/dbopsd.sock"
	HTTPListen  string         // default "127.0.0.1:9187"; "" after decode means default
	MaxParallel int            // default 2
	Timezone    string         // default "Local"
	Location    *time.Location // Timezone, loaded
	PerServer   int            // max_per_server: jobs at once on one host; 0 = no limit
	// ToolDirs are the engines' client-tool directories by the name of
	// their setting (pg_bin_dir: where pg_dump/pg_restore live); a setting
	// not given is absent, which means search. See ToolDir.
	ToolDirs map[string]string
	// RequestListen (request_listen) is host:port of the HTTPS listener
	// that takes signed requests from other machines; "" = none (the
	// socket only). TLSCert (tls_cert) and TLSKey (tls_key) are its PEM
	// certificate (chain) and private key, as paths with a relative one
	// taken from the policy file's directory; both are required with
	// RequestListen and were loaded as a pair when the policy validated.
	RequestListen string
	TLSCert       string
	TLSKey        string
	Range         hcl.Range

	// MSSQLListen (mssql_listen) is host:port of the blob listener SQL
	// Server backs up to and restores from; MSSQLURL (mssql_url) is how
	// SQL Server reaches it, https://NAME:PORT with NAME in tls_cert's
	// certificate (see config/mssql.go).
	MSSQLListen string
	MSSQLURL    string
}

// Storage is a storage "name" { } block.
type Storage struct {
	Name       string
	Type       string // "s3" | "local"
	Endpoint   string // s3: host:port
	Bucket     string
	Prefix     string
	Region     string
	AccessKey  secret.Value
	SecretKey  secret.Value
	UseTLS     bool
	CAFile     string
	ObjectLock bool   // object_lock
	Path       string // local
	Range      hcl.Range
}

// Repository is the repository { } block.
type Repository struct {
	Storage    string   // name of a storage block
	Mirrors    []string // names of storage blocks
	Passphrase secret.Value
	// PassphraseSource names where the passphrase comes from when that is
	// one env() or file() call, e.g. `env("DBOPS_PASSPHRASE")`, for the
	// error when it is empty.
	PassphraseSource string
	Range            hcl.Range
}

// Policy is a policy "name" { } block.
type Policy struct {
	Name                 string
	Full                 string      // "monthly" | "quarterly" | cron
	Differential         string      // "biweekly" | "weekly" | cron | "none"
	Window               when.Window // window = "HH:MM-HH:MM"; the zero Window is any time
	Verify               string      // "after_full" | "after_each" | cron | "none"
	VerifyTarget         string      // restore_target name
	DifferentialMaxRatio float64     // differential_max_ratio; default 0.5
	Parallel             int         // tables read at once; default 2
	Retention            Retention
	Range                hcl.Range
	// Diagnostics is the diagnostics { } block (policy_diagnostics.go);
	// nil when absent.
	Diagnostics *Diagnostics

	// The day and times of the named schedules, in daemon.timezone. A cron
	// expression carries its own and ignores them.

	// FullDay (full_day) is the policy's backup day: "monthly" and
	// "quarterly" fulls run on the first such day of the month or quarter,
	// "weekly" and "biweekly" differentials on every (every other) such
	// day. Sharing the day is what lets a full stand in for the
	// differential due with it. Default Sunday.
	FullDay time.Weekday
	// FullTime (full_time) is when fulls start, since midnight; default
	// 01:00.
	FullTime time.Duration
	// DifferentialTime (differential_time) is when differentials start;
	// default 01:00. Equal to FullTime, the full takes the place of the
	// differential due with it; otherwise both run that day, which keeps
	// the differentials exactly one or two weeks apart.
	DifferentialTime time.Duration
	// DifferentialAnchor (differential_anchor) is the date, as written
	// (midnight UTC), from which "biweekly" counts its fortnights; see
	// DifferentialStart. Default 2024-01-07.
	DifferentialAnchor time.Time

	// MaintenanceWindow (maintenance_window) is when approved table
	// maintenance may run; the zero Window is any time.
	// MaintenanceLockTimeout (maintenance_lock_timeout, default 5s) is how
	// long a maintenance statement waits for its lock before it gives up.
	MaintenanceWindow      when.Window
	MaintenanceLockTimeout time.Duration

	// The schedules above, parsed once when the policy loads, in
	// daemon.timezone with the day and times above; the scheduler runs on
	// these, never on the text. DifferentialSpec is nil for differential =
	// "none"; VerifySpec is set only when verify is a cron expression.
	FullSpec, DifferentialSpec, VerifySpec when.Spec
}

// DifferentialStart is the first day of the policy's weekly and biweekly
// differentials (midnight UTC): the first FullDay on or after
// DifferentialAnchor. Every run is a whole number of weeks (two for
// biweekly) before or after it.
func (p *Policy) DifferentialStart() time.Time {
	a := p.DifferentialAnchor
	if a.IsZero() {
		a = defaultAnchor
	}
	a = time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	return a.AddDate(0, 0, (int(p.FullDay)-int(a.Weekday())+7)%7)
}

// Retention is the retention { } block inside a policy.
type Retention struct {
	Generations int // keep the newest N generations; default 3
	Monthly     int // keep one generation per month for M months
	Quarterly   int
	Yearly      int
}

// Database is a database "name" { } block.
type Database struct {
	Name        string
	Engine      string // "postgres" | "mysql" ("mariadb" is normalised to "mysql") | "mssql"
	DSN         string
	Password    secret.Value
	Policy      string
	Critical    bool
	Description string
	Range       hcl.Range
	// Diagnostics is the database's own diagnostics { } block, which
	// replaces its policy's (policy_diagnostics.go); nil when absent.
	Diagnostics *Diagnostics
	// SQL Server only (config/mssql.go): NoCompression is compression =
	// false (BACKUP's NO_COMPRESSION; the default is COMPRESSION);
	// BackupDir and BackupDirLocal (backup_dir, backup_dir_local) the share
	// backups go through instead of the blob listener.
	NoCompression             bool
	BackupDir, BackupDirLocal string
}

// RestoreTarget is a restore_target "name" { } block.
type RestoreTarget struct {
	Name          string
	Engine        string
	DSN           string
	Password      secret.Value
	Scratch       bool
	AllowRestore  bool
	KeepOnFailure bool // keep_on_failure
	// SQL Server only: backup_dir and backup_dir_local, the share restores
	// go through instead of the blob listener (config/mssql.go).
	BackupDir, BackupDirLocal string
	Range                     hcl.Range
}

// Signer is a signer "name" { } block.
type Signer struct {
	Name      string
	PublicKey string // one line of an authorized_keys file
	Roles     []string
	Range     hcl.Range
}

// Approvals is the approvals { } block: approvals needed per action.
type Approvals struct {
	Drill       int
	Restore     int
	Maintenance int
}

// Notify is a notify "name" { } block.
type Notify struct {
	Name     string
	Type     string // "email" | "webhook"
	SMTP     string // host:port
	SMTPTLS  string // smtp_tls: "implicit" (SMTPS) | "starttls"; "" = by the port: implicit on 465, STARTTLS on others
	CAFile   string // ca_file: PEM CA certificates trusted for the SMTP server, or the https:// webhook receiver, besides the system's (an internal CA)
	Username string
	Password secret.Value
	From     string
	To       []string
	URL      string       // webhook
	Secret   secret.Value // webhook HMAC key
	Events   []string
	Range    hcl.Range
}

// Report is a report "name" { } block.
type Report struct {
	Name     string
	Schedule string
	Language string // "zh-CN" (default) | "en"
	Notify   []string
	Range    hcl.Range

	ReportPolicy // kind, per, site, databases, font: policy_report.go
}
