package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/when"
)

// now is the start of the year over which cron schedules are checked; a
// variable so tests can pin it.
var now = time.Now

// Fixed vocabularies.
var (
	storageTypes = []string{"s3", "local"}
	notifyTypes  = []string{"email", "webhook"}
	smtpTLSModes = []string{SMTPStartTLS, SMTPImplicitTLS}
	roles        = []string{RoleDBA, RoleApprover, RoleAuditor}
	languages    = []string{string(i18n.ZH), string(i18n.EN)}
	// Events are what a notify block may subscribe to.
	Events = []string{
		EventBackupFailed, EventVerifyFailed, EventVerifyNotRun, EventCheckFailed, EventStale, EventDaemonGap,
		EventMonthlyReport, EventWeeklySummary, EventDiagnosisFinding, EventRestoreDone, EventDrillDone,
		EventReconcileDifferences, EventMaintenanceDone, EventMaintenanceFailed,
	}
)

// How an email notify encrypts its SMTP connection (smtp_tls).
const (
	SMTPStartTLS    = "starttls" // plain connection upgraded with STARTTLS
	SMTPImplicitTLS = "implicit" // TLS from the first byte (SMTPS, usually port 465)
)

// Signer roles.
const (
	RoleDBA      = "dba"      // may sign restore, drill and maintenance requests
	RoleApprover = "approver" // may approve others' requests
	RoleAuditor  = "auditor"  // may read the register and reports
)

// Notification events.
const (
	EventBackupFailed  = "backup_failed"
	EventVerifyFailed  = "verify_failed"
	EventVerifyNotRun  = "verify_not_run" // a verification could not run (scratch target down); says nothing of the backup
	EventCheckFailed   = "check_failed"
	EventStale         = "stale" // no successful backup within the policy
	EventDaemonGap     = "daemon_gap"
	EventMonthlyReport = "monthly_report"
	EventWeeklySummary = "weekly_summary"
	EventRestoreDone   = "restore_done"
	EventDrillDone     = "drill_done"
	// EventMaintenanceDone and EventMaintenanceFailed: a signed
	// maintenance request ran to its end, or failed or could not run.
	EventMaintenanceDone   = "maintenance_done"
	EventMaintenanceFailed = "maintenance_failed"
	// EventReconcileDifferences: a reconciliation found rows missing or
	// different (config/reconcile.go).
	EventReconcileDifferences = "reconcile_differences"
	// EventDiagnosisFinding: a diagnostics run found a problem of priority
	// 50 or more urgent, or the last such cleared.
	EventDiagnosisFinding = "diagnosis_finding"
)

// s3Only and localOnly list the storage attributes that make sense for one
// type only; setting them on the other type is a mistake worth reporting.
var (
	s3Only    = []string{"endpoint", "bucket", "region", "access_key", "secret_key", "use_tls", "ca_file", "object_lock"}
	localOnly = []string{"path"}
	emailOnly = []string{"smtp", "smtp_tls", "username", "password", "from", "to"}
	hookOnly  = []string{"url", "secret"}
)

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// validate checks each block's values and every reference between blocks.
func (d *decoder) validate(cfg *Config, body hcl.Body) {
	d.validateDaemon(&cfg.Daemon)
	for _, name := range sortedKeys(cfg.Storages) {
		d.validateStorage(cfg.Storages[name])
	}
	d.validateRepository(cfg, body)
	for _, name := range sortedKeys(cfg.RestoreTargets) {
		d.validateRestoreTarget(cfg.RestoreTargets[name])
	}
	for _, name := range sortedKeys(cfg.Policies) {
		d.validatePolicy(cfg, cfg.Policies[name])
	}
	for _, name := range sortedKeys(cfg.Databases) {
		d.validateDatabase(cfg, cfg.Databases[name])
	}
	d.validateSigners(cfg)
	for _, name := range sortedKeys(cfg.Notifies) {
		d.validateNotify(cfg.Notifies[name])
	}
	for _, name := range sortedKeys(cfg.Reports) {
		d.validateReport(cfg, cfg.Reports[name])
	}
	for _, name := range sortedKeys(cfg.Reconciles) {
		d.validateReconcile(cfg, cfg.Reconciles[name])
	}
	d.validateVolume(cfg)
}

func (d *decoder) validateDaemon(dm *Daemon) {
	if _, _, err := net.SplitHostPort(dm.HTTPListen); err != nil {
		d.errorf(d.at(dm, "http_listen"), "Invalid address", "daemon: http_listen must be host:port (e.g. %q): %v.", DefaultHTTPListen, err)
	}
	loc, err := time.LoadLocation(dm.Timezone)
	if err != nil {
		d.errorf(d.at(dm, "timezone"), "Unknown timezone", "daemon: timezone %q is not a known time zone; use an IANA name such as \"Asia/Shanghai\", or \"Local\".", dm.Timezone)
		loc = time.Local
	}
	dm.Location = loc
	d.validateRequestListen(dm)
	d.validateMSSQLListen(dm)
}

// DefaultRequestPort is the port the samples give daemon.request_listen.
const DefaultRequestPort = "9443"

// maxTLSFile bounds what is read of tls_cert and tls_key: a certificate
// chain is a few kilobytes.
const maxTLSFile = 1 << 20

// validateRequestListen checks the HTTPS listener for signed requests: an
// address of its own, and a certificate and key that load as a pair, as the
// daemon loads them at start and on every reload. Messages name the files,
// never show what the key file holds.
func (d *decoder) validateRequestListen(dm *Daemon) {
	if dm.RequestListen == "" {
		if dm.MSSQLListen != "" {
			return // tls_cert serves the blob listener: validateMSSQLListen
		}
		for _, f := range []struct{ name, v string }{{"tls_cert", dm.TLSCert}, {"tls_key", dm.TLSKey}} {
			if f.v != "" {
				d.warnf(d.at(dm, f.name), "Argument has no effect",
					"daemon: %s has no effect without request_listen, the HTTPS listener for signed requests it is for.", f.name)
			}
		}
		return
	}
	if host, port, err := net.SplitHostPort(dm.RequestListen); err != nil || port == "" {
		if err == nil {
			err = errors.New("no port")
		}
		d.errorf(d.at(dm, "request_listen"), "Invalid address",
			"daemon: request_listen must be host:port (e.g. \"0.0.0.0:%s\", or \"10.1.1.5:%s\" for one interface): %v.", DefaultRequestPort, DefaultRequestPort, err)
	} else if sameListener(host, port, dm.HTTPListen) {
		d.errorf(d.at(dm, "request_listen"), "Address used twice",
			"daemon: request_listen %q takes the port of http_listen %q (/metrics, plain HTTP); the HTTPS listener for requests needs a port of its own, e.g. %s.",
			dm.RequestListen, dm.HTTPListen, DefaultRequestPort)
	}
	var missing []string
	if dm.TLSCert == "" {
		missing = append(missing, "tls_cert")
	}
	if dm.TLSKey == "" {
		missing = append(missing, "tls_key")
	}
	if len(missing) > 0 {
		d.errorf(d.at(dm, "request_listen"), "Missing TLS certificate",
			"daemon: request_listen serves signed requests over HTTPS only and needs %s: tls_cert, the server's certificate (PEM, with its chain), and tls_key, its private key (PEM).",
			strings.Join(missing, " and "))
		return
	}
	certPEM, err := readTLSFile(dm.TLSCert)
	if err != nil {
		d.errorf(d.at(dm, "tls_cert"), "Cannot read tls_cert", "daemon: tls_cert: %v.", err)
		return
	}
	keyPEM, err := readTLSFile(dm.TLSKey)
	if err != nil {
		d.errorf(d.at(dm, "tls_key"), "Cannot read tls_key", "daemon: tls_key: %v.", err)
		return
	}
	leaf := firstCertificate(certPEM)
	if leaf == nil {
		d.errorf(d.at(dm, "tls_cert"), "Invalid certificate",
			"daemon: tls_cert %s holds no PEM certificate (a block starting -----BEGIN CERTIFICATE-----).", dm.TLSCert)
		return
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		// The errors of X509KeyPair say what is wrong (no PEM, cannot
		// parse, does not match), never what the key is.
		d.errorf(d.at(dm, "tls_key"), "Invalid TLS key",
			"daemon: tls_key %s is not the private key of the certificate in tls_cert %s: %v.", dm.TLSKey, dm.TLSCert, err)
		return
	}
	switch t := now(); {
	case t.After(leaf.NotAfter):
		d.warnf(d.at(dm, "tls_cert"), "Certificate expired",
			"daemon: the certificate in tls_cert (%s) expired at %s; clients refuse the request listener until it is replaced (then reload with SIGHUP).",
			leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	case t.Before(leaf.NotBefore):
		d.warnf(d.at(dm, "tls_cert"), "Certificate not yet valid",
			"daemon: the certificate in tls_cert (%s) is valid only from %s; clients refuse the request listener until then.",
			leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
}

// sameListener reports whether host:port would take the port of listen
// (host:port): the same port, on the same or on every address.
func sameListener(host, port, listen string) bool {
	h2, p2, err := net.SplitHostPort(listen)
	if err != nil || p2 != port || port == "0" {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return host == h2 || wildcard(host) || wildcard(h2)
}

// readTLSFile reads a certificate or key file, at most maxTLSFile bytes.
func readTLSFile(path string) ([]byte, error) {
	cannot := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	b, err := readRegular(path, maxTLSFile)
	var nr *notRegular
	switch {
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("%s is larger than %d bytes; it should hold a PEM certificate or key", path, maxTLSFile)
	case errors.As(err, &nr):
		return nil, fmt.Errorf("%s is %s, not a PEM file", path, nr.what)
	case err != nil:
		return nil, cannot(err)
	}
	return b, nil
}

// firstCertificate is the first certificate in a PEM file, the server's
// own, or nil.
func firstCertificate(data []byte) *x509.Certificate {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil
			}
			return c
		}
	}
}

func (d *decoder) validateStorage(s *Storage) {
	owner := fmt.Sprintf("storage %q", s.Name)
	if !d.oneOf(s, "type", s.Type, owner, storageTypes) {
		return
	}
	notFor := localOnly
	if s.Type == "local" {
		notFor = s3Only
	}
	for _, name := range notFor {
		if d.has(s, name) {
			d.errorf(d.at(s, name), "Argument does not apply", "%s: %s has no meaning for type = %q.", owner, name, s.Type)
		}
	}
	switch s.Type {
	case "s3":
		d.required(s, owner, "endpoint", s.Endpoint, "an s3 storage")
		d.required(s, owner, "bucket", s.Bucket, "an s3 storage")
		if s.Endpoint != "" {
			if strings.Contains(s.Endpoint, "://") {
				d.errorf(d.at(s, "endpoint"), "Invalid address", "%s: endpoint is host:port without a scheme; use use_tls = true for https.", owner)
			} else if _, _, err := net.SplitHostPort(s.Endpoint); err != nil {
				d.errorf(d.at(s, "endpoint"), "Invalid address", "%s: endpoint must be host:port (e.g. \"10.1.1.20:9000\").", owner)
			}
		}
		if s.Bucket != "" && !bucketName.MatchString(s.Bucket) {
			d.errorf(d.at(s, "bucket"), "Invalid bucket name", "%s: %q is not a valid bucket name (3 to 63 lower-case letters, digits, dots and hyphens).", owner, s.Bucket)
		}
		if s.CAFile != "" && !s.UseTLS {
			d.errorf(d.at(s, "ca_file"), "CA file without TLS", "%s: ca_file is set but use_tls is false; set use_tls = true or remove ca_file.", owner)
		}
		if s.AccessKey.Empty() != s.SecretKey.Empty() {
			d.errorf(d.at(s, "access_key"), "Incomplete credentials", "%s: access_key and secret_key must both be set or both be empty (anonymous access); one of them is empty now.", owner)
		}
	case "local":
		d.required(s, owner, "path", s.Path, "a local storage")
	}
}

func (d *decoder) validateRepository(cfg *Config, body hcl.Body) {
	r := &cfg.Repository
	if d.blocks[r] == nil {
		d.errorf(body.MissingItemRange().Ptr(), "Missing repository block",
			"A policy file needs a repository block naming the storage backups go to, e.g. repository { storage = \"primary\"  passphrase = env(\"DBOPS_REPO_PASSPHRASE\") }.")
		return
	}
	ref(d, r, "storage", r.Storage, "repository", "storage", cfg.Storages)
	seen := map[string]bool{}
	for _, m := range r.Mirrors {
		switch {
		case m == r.Storage:
			d.errorf(d.at(r, "mirrors"), "Mirror is the primary storage", "repository: mirror %q is the repository's own storage; a mirror must be another storage.", m)
		case seen[m]:
			d.errorf(d.at(r, "mirrors"), "Duplicate mirror", "repository: mirror %q is listed twice.", m)
		default:
			ref(d, r, "mirrors", m, "repository", "storage", cfg.Storages)
		}
		seen[m] = true
	}
}

func (d *decoder) validateRestoreTarget(t *RestoreTarget) {
	owner := fmt.Sprintf("restore_target %q", t.Name)
	if d.engine(t, owner, &t.Engine) {
		d.dsn(t, owner, t.Engine, t.DSN)
		d.validateMSSQLNative(t, owner, t.Engine, t.BackupDir, t.BackupDirLocal)
	}
}

func (d *decoder) validatePolicy(cfg *Config, p *Policy) {
	owner := fmt.Sprintf("policy %q", p.Name)
	fullOK := d.schedule(p, owner, "full", p.Full, []string{Monthly, Quarterly})
	diffOK := d.schedule(p, owner, "differential", p.Differential, []string{Biweekly, Weekly, None})
	if fullOK && diffOK {
		d.namedTimesApply(p, owner)
	}
	verifyOK := d.schedule(p, owner, "verify", p.Verify, []string{VerifyAfterFull, VerifyAfterEach, None})
	if fullOK && diffOK && verifyOK {
		if err := p.parseSchedules(cfg.Daemon.Location); err != nil {
			d.errorf(d.at(p, "full"), "Invalid schedule", "%s: %v.", owner, err)
		}
	}
	if p.DifferentialMaxRatio <= 0 || p.DifferentialMaxRatio > 1 {
		d.errorf(d.at(p, "differential_max_ratio"), "Value out of range", "%s: differential_max_ratio must be more than 0 and at most 1 (the fraction of its full above which a differential becomes a full).", owner)
	}
	if p.Parallel < 1 {
		d.errorf(d.at(p, "parallel"), "Value out of range", "%s: parallel must be at least 1.", owner)
	}
	r := &p.Retention
	if r.Generations < 1 {
		d.errorf(d.at(r, "generations"), "Value out of range", "%s: retention generations must be at least 1.", owner)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"monthly", r.Monthly}, {"quarterly", r.Quarterly}, {"yearly", r.Yearly}} {
		if f.v < 0 {
			d.errorf(d.at(r, f.name), "Value out of range", "%s: retention %s must be 0 or more.", owner, f.name)
		}
	}

	if p.VerifyTarget != "" {
		if t, ok := ref(d, p, "verify_target", p.VerifyTarget, owner, "restore_target", cfg.RestoreTargets); ok && !t.Scratch {
			d.errorf(d.at(p, "verify_target"), "Verify target is not a scratch target",
				"%s: verification restores into a throwaway database without a signed request, so verify_target must name a restore_target with scratch = true; %q is not one.", owner, t.Name)
		}
	} else if verifyOK && p.Verify != None {
		d.errorf(d.at(p, "verify"), "Missing verify_target", "%s: verify = %q needs verify_target, the scratch restore_target to verify on (or set verify = \"none\").", owner, p.Verify)
	}
}

// namedTimesApply warns where full_day, full_time, differential_time or
// differential_anchor is set but changes nothing (a cron expression has its
// own day and time; only biweekly counts from an anchor), and where the
// anchor is not a full_day, since the fortnights then start on a later date
// than the one written.
func (d *decoder) namedTimesApply(p *Policy, owner string) {
	noEffect := func(attr, format string, args ...any) {
		if d.has(p, attr) {
			d.warnf(d.at(p, attr), "Argument has no effect", "%s: %s has no effect: %s.", owner, attr, fmt.Sprintf(format, args...))
		}
	}
	fullNamed := p.Full == Monthly || p.Full == Quarterly
	diffWeekly := p.Differential == Weekly || p.Differential == Biweekly
	if !fullNamed && !diffWeekly {
		noEffect("full_day", "it sets the day of \"monthly\" and \"quarterly\" fulls and of \"weekly\" and \"biweekly\" differentials, and full = %q, differential = %q", p.Full, p.Differential)
	}
	if !fullNamed {
		noEffect("full_time", "full = %q is a cron expression, which sets its own time", p.Full)
	}
	switch {
	case p.Differential == None:
		noEffect("differential_time", "differential = \"none\"")
	case !diffWeekly:
		noEffect("differential_time", "differential = %q is a cron expression, which sets its own time", p.Differential)
	}
	if p.Differential != Biweekly {
		noEffect("differential_anchor", "only differential = \"biweekly\" counts its fortnights from it, and differential = %q", p.Differential)
		return
	}
	if start := p.DifferentialStart(); d.has(p, "differential_anchor") && !start.Equal(p.DifferentialAnchor) {
		d.warnf(d.at(p, "differential_anchor"), "Anchor is not a full_day",
			"%s: differential_anchor %s is a %s, but differentials run on full_day, %s: they count their fortnights from %s %s. Write that date to say so.",
			owner, p.DifferentialAnchor.Format(dateLayout), p.DifferentialAnchor.Weekday(), p.FullDay, start.Weekday(), start.Format(dateLayout))
	}
}

func (d *decoder) validateDatabase(cfg *Config, db *Database) {
	owner := fmt.Sprintf("database %q", db.Name)
	if err := checkDatabaseName(db.Name); err != nil {
		subject := d.at(db, "")
		if b := d.blocks[db]; b != nil && len(b.LabelRanges) > 0 {
			subject = b.LabelRanges[0].Ptr()
		}
		d.errorf(subject, "Invalid database name", "%s: %v.", owner, err)
	}
	engineOK := d.engine(db, owner, &db.Engine)
	if engineOK {
		d.dsn(db, owner, db.Engine, db.DSN)
		d.validateMSSQLNative(db, owner, db.Engine, db.BackupDir, db.BackupDirLocal)
	}
	p, ok := ref(d, db, "policy", db.Policy, owner, "policy", cfg.Policies)
	if !ok {
		return
	}
	if t := cfg.RestoreTargets[p.VerifyTarget]; t != nil && engineOK && t.Engine != db.Engine && knownEngine(t.Engine) {
		d.errorf(d.at(db, "policy"), "Engine mismatch",
			"%s is %s, but its policy %q verifies on restore_target %q, which is %s; use a policy whose verify_target has the database's engine.",
			owner, db.Engine, p.Name, t.Name, t.Engine)
	}
	if db.Critical {
		if gap, over := d.recoveryGap(p, cfg.Daemon.Location); over {
			how := fmt.Sprintf("can leave %s between backups", days(gap))
			if gap == 0 || (p.DifferentialSpec == nil && !when.IsCron(p.Full)) {
				how = "has no differentials"
			}
			d.errorf(d.at(db, "policy"), "Critical database backed up too rarely",
				"%s is critical, but its policy %q (full = %q, differential = %q) %s; critical databases need a differential at least every two weeks (differential = \"weekly\" or \"biweekly\").",
				owner, p.Name, p.Full, p.Differential, how)
		}
	}
}

// MaxDatabaseName is the longest database label: a label is one segment of
// the repository's object keys and, on local storage, a directory name,
// which most file systems limit to 255 bytes.
const MaxDatabaseName = 255

// checkDatabaseName applies the rule the repository applies when it writes a
// backup (manifests/<name>/…, data/<name>/…, locks/<name>): a database label
// is one path segment, so a label it would refuse is refused here, not at
// the first backup.
func checkDatabaseName(name string) error {
	const rule = "a database name is one segment of the repository's object keys: 1 to %d bytes, not \".\" or \"..\", without \"/\", \"\\\" or NUL"
	switch {
	case name == "", name == ".", name == "..", len(name) > MaxDatabaseName,
		strings.ContainsAny(name, "/\\\x00"), !utf8.ValidString(name):
		return fmt.Errorf(rule, MaxDatabaseName)
	}
	return nil
}

// recoveryGap is the cached recoveryGap of p: a site with hundreds of
// critical databases shares a few policies.
func (d *decoder) recoveryGap(p *Policy, loc *time.Location) (time.Duration, bool) {
	if g, ok := d.gaps[p]; ok {
		return g.gap, g.over
	}
	gap, over := recoveryGap(p, loc)
	d.gaps[p] = gapResult{gap, over}
	return gap, over
}

type gapResult struct {
	gap  time.Duration
	over bool
}

func days(d time.Duration) string {
	n := int((d + 12*time.Hour) / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func (d *decoder) validateSigners(cfg *Config) {
	byKey := map[string]string{}
	for _, name := range sortedKeys(cfg.Signers) {
		s := cfg.Signers[name]
		owner := fmt.Sprintf("signer %q", name)
		pub, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(s.PublicKey))
		switch {
		case err != nil:
			d.errorf(d.at(s, "public_key"), "Invalid public key", "%s: public_key is not an SSH public key (one line of an authorized_keys file, e.g. \"ssh-ed25519 AAAA... name@host\"): %v.", owner, err)
		case len(options) > 0:
			d.errorf(d.at(s, "public_key"), "Invalid public key", "%s: public_key has authorized_keys options (%s); give the key alone: type, key and comment.", owner, strings.Join(options, ","))
		case len(strings.TrimSpace(string(rest))) > 0:
			d.errorf(d.at(s, "public_key"), "Invalid public key", "%s: public_key holds more than one key; give one signer block per key.", owner)
		default:
			fp := ssh.FingerprintSHA256(pub)
			if other, dup := byKey[fp]; dup {
				d.errorf(d.at(s, "public_key"), "Duplicate public key", "%s has the same public key as signer %q; one person must not count as two approvers.", owner, other)
			}
			byKey[fp] = name
		}
		if len(s.Roles) == 0 {
			d.errorf(d.at(s, "roles"), "Missing roles", "%s: roles is empty; give at least one of %s.", owner, quoteList(roles))
		}
		for _, r := range s.Roles {
			if !slices.Contains(roles, r) {
				d.errorf(d.at(s, "roles"), "Unknown role", "%s: role %q is not one of %s.%s", owner, r, quoteList(roles), suggest(r, roles))
			}
		}
	}
}

func (d *decoder) validateNotify(n *Notify) {
	owner := fmt.Sprintf("notify %q", n.Name)
	if !d.oneOf(n, "type", n.Type, owner, notifyTypes) {
		return
	}
	notFor := hookOnly
	if n.Type == "webhook" {
		notFor = emailOnly
	}
	for _, name := range notFor {
		if d.has(n, name) {
			d.errorf(d.at(n, name), "Argument does not apply", "%s: %s has no meaning for type = %q.", owner, name, n.Type)
		}
	}
	switch n.Type {
	case "email":
		if d.required(n, owner, "smtp", n.SMTP, "an email notify") {
			if _, _, err := net.SplitHostPort(n.SMTP); err != nil {
				d.errorf(d.at(n, "smtp"), "Invalid address", "%s: smtp must be host:port (e.g. \"smtp.example.gov.cn:587\").", owner)
			}
		}
		if n.SMTPTLS != "" {
			d.oneOf(n, "smtp_tls", n.SMTPTLS, owner, smtpTLSModes)
		}
		if d.required(n, owner, "from", n.From, "an email notify") {
			if _, err := mail.ParseAddress(n.From); err != nil {
				d.errorf(d.at(n, "from"), "Invalid email address", "%s: from %q is not an email address.", owner, n.From)
			}
		}
		if len(n.To) == 0 {
			d.errorf(d.at(n, "to"), "Missing required argument", "%s: an email notify needs to, a list of at least one address.", owner)
		}
		for _, a := range n.To {
			if _, err := mail.ParseAddress(a); err != nil {
				d.errorf(d.at(n, "to"), "Invalid email address", "%s: %q in to is not an email address.", owner, a)
			}
		}
	case "webhook":
		if d.required(n, owner, "url", n.URL, "a webhook notify") {
			u, err := url.Parse(n.URL)
			switch {
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
				d.errorf(d.at(n, "url"), "Invalid URL", "%s: url must be an http:// or https:// URL.", owner)
			case u.User != nil:
				d.maskSecretIn(d.attrs[n]["url"], u.User.String())
				d.errorf(d.at(n, "url"), "Credentials in URL", "%s: url must not contain credentials; the receiver checks the HMAC made with secret = env(...).", owner)
			case n.CAFile != "" && u.Scheme != "https":
				d.errorf(d.at(n, "ca_file"), "CA file without TLS", "%s: ca_file is set but url is %s://, which uses no certificate; write an https:// url or remove ca_file.", owner, u.Scheme)
			}
		}
	}
	if n.CAFile != "" {
		d.validateCAFile(n, owner)
	}
	if len(n.Events) == 0 {
		d.errorf(d.at(n, "events"), "No events", "%s: events is empty; list what to send, from %s.", owner, quoteList(Events))
	}
	for _, e := range n.Events {
		if !slices.Contains(Events, e) {
			d.errorf(d.at(n, "events"), "Unknown event", "%s: event %q is not one of %s.%s", owner, e, quoteList(Events), suggest(e, Events))
		}
	}
}

// validateCAFile checks a notify's ca_file as the sender will read it: a
// readable PEM file with at least one certificate.
func (d *decoder) validateCAFile(n *Notify, owner string) {
	data, err := readTLSFile(n.CAFile)
	if err != nil {
		d.errorf(d.at(n, "ca_file"), "Cannot read ca_file", "%s: ca_file: %v.", owner, err)
		return
	}
	if firstCertificate(data) == nil {
		server := "the SMTP server's"
		if n.Type == "webhook" {
			server = "the webhook receiver's"
		}
		d.errorf(d.at(n, "ca_file"), "Invalid CA file",
			"%s: ca_file %s holds no PEM certificate (a block starting -----BEGIN CERTIFICATE-----): it should hold the CA certificates that signed %s certificate.", owner, n.CAFile, server)
	}
}

func (d *decoder) validateReport(cfg *Config, r *Report) {
	owner := fmt.Sprintf("report %q", r.Name)
	d.schedule(r, owner, "schedule", r.Schedule, []string{Monthly, Weekly})
	d.oneOf(r, "language", r.Language, owner, languages)
	for _, n := range r.Notify {
		ref(d, r, "notify", n, owner, "notify", cfg.Notifies)
	}
	d.validateReportPolicy(cfg, r, owner)
}

// ---- shared checks ----

// oneOf checks that v is one of allowed.
func (d *decoder) oneOf(obj any, attr string, v string, owner string, allowed []string) bool {
	if v == "" && !d.has(obj, attr) {
		return false // a missing required attribute; hcl has said so
	}
	if slices.Contains(allowed, v) {
		return true
	}
	summary := "Unknown " + strings.ReplaceAll(attr, "_", " ")
	if attr == "type" {
		summary = "Unknown " + strings.Fields(owner)[0] + " type"
	}
	d.errorf(d.at(obj, attr), summary, "%s: %s %q is not one of %s.%s", owner, attr, v, quoteList(allowed), suggest(v, allowed))
	return false
}

func (d *decoder) engine(obj any, owner string, v *string) bool {
	if !d.has(obj, "engine") {
		return false // required: hcl has reported it
	}
	if r, ok := engines.Lookup(*v); ok {
		*v = r.Name
		return true
	}
	d.errorf(d.at(obj, "engine"), "Unknown engine", "%s: engine %q is not one of %s.", owner, *v, engines.Known())
	return false
}

func knownEngine(name string) bool {
	_, ok := engines.Lookup(name)
	return ok
}

// dsn checks a DSN for its engine. A DSN with a password is refused: the
// password belongs in password = env(...), where it is kept out of logs.
// Neither the message nor the snippet shows the password.
func (d *decoder) dsn(obj any, owner, engine, dsn string) {
	a := d.attrs[obj]["dsn"]
	if a == nil {
		return // required: hcl has reported it
	}
	info, err := engines.ParseDSN(engine, dsn)
	switch {
	case err == nil && !info.Password.Empty():
		d.maskSecretIn(a, info.Password.Reveal())
		d.errorf(d.at(obj, "dsn"), "Password in DSN", "%s: the DSN contains a password; put the password in password = env(\"NAME\") (or file(\"/path\")) and remove it from the DSN.", owner)
	case err != nil:
		for _, p := range engines.DSNPasswordCandidates(dsn) {
			d.maskSecretIn(a, p)
		}
		d.errorf(d.at(obj, "dsn"), "Invalid DSN", "%s: the DSN is not a valid %s DSN: %v.", owner, engine, err)
	}
}

// maskSecretIn hides every occurrence of s within a's source in snippets,
// or the whole value when s is not written there verbatim (escapes).
func (d *decoder) maskSecretIn(a *hcl.Attribute, s string) {
	if a == nil || s == "" {
		return
	}
	rng := a.Expr.Range()
	if rng.End.Byte > len(d.src) || rng.Start.Byte > rng.End.Byte {
		return
	}
	src := string(d.src[rng.Start.Byte:rng.End.Byte])
	if !strings.Contains(src, s) {
		d.masks = append(d.masks, rng)
		return
	}
	for off := 0; ; {
		i := strings.Index(src[off:], s)
		if i < 0 {
			return
		}
		start := rng.Start.Byte + off + i
		d.masks = append(d.masks, hcl.Range{
			Filename: rng.Filename,
			Start:    hcl.Pos{Byte: start},
			End:      hcl.Pos{Byte: start + len(s)},
		})
		off += i + len(s)
	}
}

// schedule checks a named schedule or a five-field cron expression.
func (d *decoder) schedule(obj any, owner, attr, v string, named []string) bool {
	if slices.Contains(named, v) {
		return true
	}
	if !when.IsCron(v) {
		d.errorf(d.at(obj, attr), "Invalid "+attr+" schedule", "%s: %s = %q is not one of %s, nor a cron expression (5 fields, e.g. \"0 1 * * 0\").%s",
			owner, attr, v, quoteList(named), suggest(v, named))
		return false
	}
	if err := when.CheckCron(v); err != nil {
		d.errorf(d.at(obj, attr), "Invalid "+attr+" schedule", "%s: %s = %q is not a valid cron expression: %v.", owner, attr, v, err)
		return false
	}
	return true
}

// required reports a missing attribute that the block's type needs.
func (d *decoder) required(obj any, owner, attr, v, what string) bool {
	if v != "" {
		return true
	}
	d.errorf(d.at(obj, attr), "Missing required argument", "%s: %s needs %s.", owner, what, attr)
	return false
}

// ref checks that name is a key of blocks; kind is the block type named.
func ref[T any](d *decoder, obj any, attr, name, owner, kind string, blocks map[string]*T) (*T, bool) {
	if b, ok := blocks[name]; ok {
		return b, true
	}
	if !d.has(obj, attr) {
		return nil, false // required: hcl has reported it
	}
	names := sortedKeys(blocks)
	defined := "none is defined"
	if len(names) > 0 {
		defined = "defined: " + strings.Join(names, ", ")
	}
	summary := fmt.Sprintf("Unknown %s %q", strings.ReplaceAll(kind, "_", " "), name)
	d.errorf(d.at(obj, attr), summary, "%s: %s %q is not defined; %s.%s", owner, kind, name, defined, suggest(name, names))
	return nil, false
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// suggest returns ` Did you mean "x"?` for the closest candidate, if close.
func suggest(v string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if dist := editDistance(strings.ToLower(v), strings.ToLower(c)); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
