package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/when"
)

// The schema, one BodySchema per block. hcl reports anything not listed here
// (an unknown argument or block, with a "did you mean") and any missing
// required argument, each with its range.
var (
	rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "daemon"},
		{Type: "storage", LabelNames: []string{"name"}},
		{Type: "repository"},
		{Type: "policy", LabelNames: []string{"name"}},
		{Type: "database", LabelNames: []string{"name"}},
		{Type: "restore_target", LabelNames: []string{"name"}},
		{Type: "signer", LabelNames: []string{"name"}},
		{Type: "approvals"},
		{Type: "notify", LabelNames: []string{"name"}},
		{Type: "report", LabelNames: []string{"name"}},
		{Type: "reconcile", LabelNames: []string{"name"}},
		{Type: "volume"},
	}}
	daemonSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "state_dir"}, {Name: "socket"}, {Name: "http_listen"}, {Name: "max_parallel"},
		{Name: "max_per_server"}, {Name: "timezone"},
		{Name: "request_listen"}, {Name: "tls_cert"}, {Name: "tls_key"},
		{Name: "mssql_listen"}, {Name: "mssql_url"},
	}}
	storageSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "type", Required: true}, {Name: "endpoint"}, {Name: "bucket"}, {Name: "prefix"},
		{Name: "region"}, {Name: "access_key"}, {Name: "secret_key"}, {Name: "use_tls"},
		{Name: "ca_file"}, {Name: "object_lock"}, {Name: "path"},
	}}
	repositorySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "storage", Required: true}, {Name: "mirrors"}, {Name: "passphrase", Required: true},
	}}
	policySchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "full"}, {Name: "differential"}, {Name: "window"}, {Name: "verify"},
			{Name: "verify_target"}, {Name: "differential_max_ratio"}, {Name: "parallel"},
			{Name: "full_day"}, {Name: "full_time"}, {Name: "differential_time"}, {Name: "differential_anchor"},
			{Name: "maintenance_window"}, {Name: "maintenance_lock_timeout"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "retention"}, {Type: "diagnostics"}},
	}
	retentionSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "generations"}, {Name: "monthly"}, {Name: "quarterly"}, {Name: "yearly"},
	}}
	databaseSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "engine", Required: true}, {Name: "dsn", Required: true}, {Name: "password"},
		{Name: "policy", Required: true}, {Name: "critical"}, {Name: "description"},
		{Name: "compression"}, {Name: "backup_dir"}, {Name: "backup_dir_local"}, // config/mssql.go
	}, Blocks: []hcl.BlockHeaderSchema{{Type: "diagnostics"}}}
	restoreTargetSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "engine", Required: true}, {Name: "dsn", Required: true}, {Name: "password"},
		{Name: "scratch"}, {Name: "allow_restore"}, {Name: "keep_on_failure"},
		{Name: "backup_dir"}, {Name: "backup_dir_local"}, // config/mssql.go
	}}
	signerSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "public_key", Required: true}, {Name: "roles", Required: true},
	}}
	approvalsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "drill"}, {Name: "restore"}, {Name: "maintenance"},
	}}
	notifySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "type", Required: true}, {Name: "smtp"}, {Name: "smtp_tls"}, {Name: "ca_file"}, {Name: "username"},
		{Name: "password"}, {Name: "from"}, {Name: "to"}, {Name: "url"}, {Name: "secret"}, {Name: "events", Required: true},
	}}
	reportSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "schedule"}, {Name: "language"}, {Name: "notify"},
		{Name: "kind"}, {Name: "per"}, {Name: "site"}, {Name: "databases"}, {Name: "font"}, {Name: "dictionaries"}, // policy_report.go
	}}
)

// Defaults, applied where an attribute is absent.
const (
	DefaultStateDir             = "/var/lib/dbopsd"
	DefaultSocket               = "/run/dbopsd/dbopsd.sock"
	DefaultHTTPListen           = "127.0.0.1:9187"
	DefaultMaxParallel          = 2
	DefaultTimezone             = "Local"
	DefaultDifferentialMaxRatio = 0.5
	DefaultPolicyParallel       = 2
	DefaultGenerations          = 3
	DefaultLanguage             = string(i18n.Default)
)

// decoder turns the HCL body into a Config, collecting diagnostics. It
// remembers, per decoded struct, the attributes and block it came from, so
// that later checks can point at the exact attribute they are about.
type decoder struct {
	filename string
	src      []byte
	ctx      *hcl.EvalContext
	diags    hcl.Diagnostics
	// masks are source ranges holding secrets (literal passwords, the
	// password part of a DSN); snippets show them as asterisks.
	masks []hcl.Range
	// sourced are the values env() and file() returned and the values of
	// attributes that call them: diagnostics name their source, never
	// show them (scrub).
	sourced []sourced
	// fromFuncs maps the range of each expression that calls env() or
	// file() to its source text.
	fromFuncs map[hcl.Range]string
	attrs     map[any]hcl.Attributes
	blocks    map[any]*hcl.Block
	gaps      map[*Policy]gapResult
}

func newDecoder(filename string, src []byte, ctx *hcl.EvalContext) *decoder {
	return &decoder{
		filename:  filename,
		src:       src,
		ctx:       ctx,
		attrs:     map[any]hcl.Attributes{},
		fromFuncs: map[hcl.Range]string{},
		blocks:    map[any]*hcl.Block{},
		gaps:      map[*Policy]gapResult{},
	}
}

func (d *decoder) decodeFile(body hcl.Body) *Config {
	cfg := &Config{
		Path:           d.filename,
		Storages:       map[string]*Storage{},
		Policies:       map[string]*Policy{},
		Databases:      map[string]*Database{},
		RestoreTargets: map[string]*RestoreTarget{},
		Signers:        map[string]*Signer{},
		Notifies:       map[string]*Notify{},
		Reports:        map[string]*Report{},
		Reconciles:     map[string]*Reconcile{},
		Approvals:      Approvals{Drill: 1, Restore: 2, Maintenance: 2},
	}
	content, diags := body.Content(rootSchema)
	d.diags = append(d.diags, diags...)

	// first[type+label] is the first block seen, for duplicate reports.
	first := map[string]*hcl.Block{}
	unique := func(b *hcl.Block) bool {
		key := b.Type + "\x00" + strings.Join(b.Labels, "\x00")
		prev, dup := first[key]
		if !dup {
			first[key] = b
			return true
		}
		what, subject := b.Type+" block", b.DefRange
		if len(b.Labels) > 0 {
			what, subject = fmt.Sprintf("%s %q", b.Type, b.Labels[0]), b.LabelRanges[0]
		}
		d.errorf(&subject, "Duplicate "+what, "%s is already defined at %s; each name may be used once.", what, shortRange(prev.DefRange))
		return false
	}

	for _, b := range content.Blocks {
		if !unique(b) {
			continue
		}
		var name string
		if len(b.Labels) > 0 {
			name = b.Labels[0]
		}
		switch b.Type {
		case "daemon":
			d.decodeDaemon(b, &cfg.Daemon)
		case "storage":
			s := &Storage{Name: name, Range: b.DefRange}
			d.decodeStorage(b, s)
			cfg.Storages[name] = s
		case "repository":
			cfg.Repository.Range = b.DefRange
			d.decodeRepository(b, &cfg.Repository)
		case "policy":
			p := &Policy{Name: name, Range: b.DefRange}
			d.decodePolicy(b, p)
			cfg.Policies[name] = p
		case "database":
			db := &Database{Name: name, Range: b.DefRange}
			d.decodeDatabase(b, db)
			cfg.Databases[name] = db
		case "restore_target":
			t := &RestoreTarget{Name: name, Range: b.DefRange}
			d.decodeRestoreTarget(b, t)
			cfg.RestoreTargets[name] = t
		case "signer":
			s := &Signer{Name: name, Range: b.DefRange}
			d.decodeSigner(b, s)
			cfg.Signers[name] = s
		case "approvals":
			d.decodeApprovals(b, &cfg.Approvals)
		case "notify":
			n := &Notify{Name: name, Range: b.DefRange}
			d.decodeNotify(b, n)
			cfg.Notifies[name] = n
		case "report":
			r := &Report{Name: name, Range: b.DefRange}
			d.decodeReport(b, r)
			cfg.Reports[name] = r
		case "reconcile":
			r := &Reconcile{Name: name, Range: b.DefRange}
			d.decodeReconcile(b, r)
			cfg.Reconciles[name] = r
		case "volume":
			d.decodeVolume(b, &cfg.Volume)
		}
	}
	d.daemonDefaults(&cfg.Daemon)
	return cfg
}

// content decodes b's body against schema and records it for obj.
func (d *decoder) content(b *hcl.Block, schema *hcl.BodySchema, obj any) *hcl.BodyContent {
	c, diags := b.Body.Content(schema)
	d.diags = append(d.diags, diags...)
	d.attrs[obj] = c.Attributes
	d.blocks[obj] = b
	return c
}

func (d *decoder) decodeDaemon(b *hcl.Block, dm *Daemon) {
	dm.Range = b.DefRange
	a := d.content(b, daemonBodySchema(), dm).Attributes
	d.str(a, "state_dir", &dm.StateDir)
	d.str(a, "socket", &dm.Socket)
	d.str(a, "http_listen", &dm.HTTPListen)
	d.str(a, "timezone", &dm.Timezone)
	d.decodeToolDirs(a, dm)
	d.str(a, "request_listen", &dm.RequestListen)
	d.path(a, "tls_cert", &dm.TLSCert)
	d.path(a, "tls_key", &dm.TLSKey)
	d.str(a, "mssql_listen", &dm.MSSQLListen)
	d.str(a, "mssql_url", &dm.MSSQLURL)
	if d.integer(a, "max_parallel", &dm.MaxParallel) && dm.MaxParallel < 1 {
		d.errorf(d.at(dm, "max_parallel"), "Value out of range", "daemon: max_parallel must be at least 1.")
	}
	if d.integer(a, "max_per_server", &dm.PerServer) && dm.PerServer < 0 {
		d.errorf(d.at(dm, "max_per_server"), "Value out of range", "daemon: max_per_server must be 0 (no limit) or more.")
	}
}

func (d *decoder) decodeStorage(b *hcl.Block, s *Storage) {
	a := d.content(b, storageSchema, s).Attributes
	owner := fmt.Sprintf("storage %q", s.Name)
	d.str(a, "type", &s.Type)
	d.str(a, "endpoint", &s.Endpoint)
	d.str(a, "bucket", &s.Bucket)
	d.str(a, "prefix", &s.Prefix)
	d.str(a, "region", &s.Region)
	d.secret(owner, a, "access_key", &s.AccessKey)
	d.secret(owner, a, "secret_key", &s.SecretKey)
	d.boolean(a, "use_tls", &s.UseTLS)
	d.str(a, "ca_file", &s.CAFile)
	d.boolean(a, "object_lock", &s.ObjectLock)
	d.str(a, "path", &s.Path)
	s.Prefix = strings.Trim(s.Prefix, "/")
}

func (d *decoder) decodeRepository(b *hcl.Block, r *Repository) {
	a := d.content(b, repositorySchema, r).Attributes
	d.str(a, "storage", &r.Storage)
	d.strings(a, "mirrors", &r.Mirrors)
	d.secret("repository", a, "passphrase", &r.Passphrase)
	r.PassphraseSource = secretSource(a["passphrase"])
}

func (d *decoder) decodePolicy(b *hcl.Block, p *Policy) {
	c := d.content(b, policySchema, p)
	a := c.Attributes
	p.Full, p.Differential = Monthly, Biweekly
	p.DifferentialMaxRatio = DefaultDifferentialMaxRatio
	p.Parallel = DefaultPolicyParallel
	p.Retention.Generations = DefaultGenerations
	p.FullDay, p.FullTime, p.DifferentialTime = DefaultFullDay, DefaultTimeOfDay, DefaultTimeOfDay
	p.DifferentialAnchor = defaultAnchor
	d.str(a, "full", &p.Full)
	d.str(a, "differential", &p.Differential)
	d.window(p, a)
	d.str(a, "verify", &p.Verify)
	d.str(a, "verify_target", &p.VerifyTarget)
	d.number(a, "differential_max_ratio", &p.DifferentialMaxRatio)
	d.integer(a, "parallel", &p.Parallel)
	d.namedTimes(p, a)
	d.maintenance(p, a)
	if p.Verify == "" {
		// Naming a verify target says "verify": do it after each full.
		p.Verify = None
		if p.VerifyTarget != "" {
			p.Verify = VerifyAfterFull
		}
	}

	var seen *hcl.Block
	for _, rb := range c.Blocks {
		if rb.Type == "diagnostics" {
			d.decodeDiagnostics(rb, fmt.Sprintf("policy %q", p.Name), &p.Diagnostics)
			continue
		}
		if seen != nil {
			d.errorf(&rb.DefRange, "Duplicate retention block", "policy %q already has a retention block at %s.", p.Name, shortRange(seen.DefRange))
			continue
		}
		seen = rb
		r := &p.Retention
		ra := d.content(rb, retentionSchema, r).Attributes
		d.integer(ra, "generations", &r.Generations)
		d.integer(ra, "monthly", &r.Monthly)
		d.integer(ra, "quarterly", &r.Quarterly)
		d.integer(ra, "yearly", &r.Yearly)
	}
}

// window reads window into the policy's Window; a value that does not
// parse leaves any time of day and is reported at the value.
func (d *decoder) window(p *Policy, a hcl.Attributes) {
	var v string
	if !d.str(a, "window", &v) {
		return
	}
	w, err := when.ParseWindow(v)
	if err != nil {
		d.errorf(d.at(p, "window"), "Invalid window", "policy %q: %v; write it as \"HH:MM-HH:MM\" in daemon.timezone, e.g. \"00:30-05:30\" or \"22:00-04:00\" (past midnight).", p.Name, err)
		return
	}
	p.Window = w
}

// namedTimes reads full_day, full_time, differential_time and
// differential_anchor; a value that does not parse keeps its default and is
// reported at the value.
func (d *decoder) namedTimes(p *Policy, a hcl.Attributes) {
	owner := fmt.Sprintf("policy %q", p.Name)
	var v string
	if d.str(a, "full_day", &v) {
		if wd, ok := when.ParseWeekday(v); ok {
			p.FullDay = wd
		} else {
			d.errorf(d.at(p, "full_day"), "Invalid full_day", "%s: full_day = %q is not a day of the week; write one of %s (in any case).%s",
				owner, v, quoteList(weekdays), suggest(v, weekdays))
		}
	}
	for _, t := range []struct {
		attr, what string
		dst        *time.Duration
	}{{"full_time", "fulls", &p.FullTime}, {"differential_time", "differentials", &p.DifferentialTime}} {
		if !d.str(a, t.attr, &v) {
			continue
		}
		at, err := when.ParseTimeOfDay(v)
		if err != nil {
			d.errorf(d.at(p, t.attr), "Invalid "+t.attr, "%s: %s = %q is not a time of day; write when %s start as \"HH:MM\" (00:00 to 23:59) in daemon.timezone, e.g. \"01:00\" or \"23:30\".",
				owner, t.attr, v, t.what)
			continue
		}
		*t.dst = at
	}
	if d.str(a, "differential_anchor", &v) {
		date, err := when.ParseDate(v)
		if err != nil {
			d.errorf(d.at(p, "differential_anchor"), "Invalid differential_anchor", "%s: differential_anchor = %q is not a date; write the date biweekly differentials count their fortnights from as \"YYYY-MM-DD\", e.g. %q.",
				owner, v, DefaultDifferentialAnchor)
			return
		}
		p.DifferentialAnchor = date
	}
}

func (d *decoder) decodeDatabase(b *hcl.Block, db *Database) {
	c := d.content(b, databaseSchema, db)
	for _, gb := range c.Blocks {
		d.decodeDiagnostics(gb, fmt.Sprintf("database %q", db.Name), &db.Diagnostics)
	}
	a := c.Attributes
	d.str(a, "engine", &db.Engine)
	d.str(a, "dsn", &db.DSN)
	d.secret(fmt.Sprintf("database %q", db.Name), a, "password", &db.Password)
	d.str(a, "policy", &db.Policy)
	d.boolean(a, "critical", &db.Critical)
	d.str(a, "description", &db.Description)
	compression := true
	d.boolean(a, "compression", &compression)
	db.NoCompression = !compression
	d.str(a, "backup_dir", &db.BackupDir)
	d.str(a, "backup_dir_local", &db.BackupDirLocal)
}

func (d *decoder) decodeRestoreTarget(b *hcl.Block, t *RestoreTarget) {
	a := d.content(b, restoreTargetSchema, t).Attributes
	d.str(a, "engine", &t.Engine)
	d.str(a, "dsn", &t.DSN)
	d.secret(fmt.Sprintf("restore_target %q", t.Name), a, "password", &t.Password)
	d.boolean(a, "scratch", &t.Scratch)
	d.boolean(a, "allow_restore", &t.AllowRestore)
	d.boolean(a, "keep_on_failure", &t.KeepOnFailure)
	d.str(a, "backup_dir", &t.BackupDir)
	d.str(a, "backup_dir_local", &t.BackupDirLocal)
}

func (d *decoder) decodeSigner(b *hcl.Block, s *Signer) {
	a := d.content(b, signerSchema, s).Attributes
	d.str(a, "public_key", &s.PublicKey)
	d.strings(a, "roles", &s.Roles)
	s.PublicKey = strings.TrimSpace(s.PublicKey)
}

func (d *decoder) decodeApprovals(b *hcl.Block, ap *Approvals) {
	a := d.content(b, approvalsSchema, ap).Attributes
	for _, f := range []struct {
		name string
		dst  *int
	}{{"drill", &ap.Drill}, {"restore", &ap.Restore}, {"maintenance", &ap.Maintenance}} {
		if d.integer(a, f.name, f.dst) && *f.dst < 0 {
			d.errorf(d.at(ap, f.name), "Value out of range", "approvals: %s must be 0 or more (0: no approval needed beyond the signed request).", f.name)
		}
	}
}

func (d *decoder) decodeNotify(b *hcl.Block, n *Notify) {
	a := d.content(b, notifySchema, n).Attributes
	owner := fmt.Sprintf("notify %q", n.Name)
	d.str(a, "type", &n.Type)
	d.str(a, "smtp", &n.SMTP)
	d.str(a, "smtp_tls", &n.SMTPTLS)
	d.path(a, "ca_file", &n.CAFile)
	d.str(a, "username", &n.Username)
	d.secret(owner, a, "password", &n.Password)
	d.str(a, "from", &n.From)
	d.strings(a, "to", &n.To)
	d.str(a, "url", &n.URL)
	d.secret(owner, a, "secret", &n.Secret)
	d.strings(a, "events", &n.Events)
}

func (d *decoder) decodeReport(b *hcl.Block, r *Report) {
	a := d.content(b, reportSchema, r).Attributes
	r.Schedule, r.Language = Monthly, DefaultLanguage
	d.str(a, "schedule", &r.Schedule)
	d.str(a, "language", &r.Language)
	d.strings(a, "notify", &r.Notify)
	d.decodeReportPolicy(a, r)
}

func (d *decoder) daemonDefaults(dm *Daemon) {
	if dm.StateDir == "" {
		dm.StateDir = DefaultStateDir
	}
	if dm.Socket == "" {
		dm.Socket = DefaultSocket
	}
	if dm.HTTPListen == "" {
		dm.HTTPListen = DefaultHTTPListen
	}
	if dm.MaxParallel == 0 && d.attrs[dm]["max_parallel"] == nil {
		dm.MaxParallel = DefaultMaxParallel
	}
	if dm.Timezone == "" {
		dm.Timezone = DefaultTimezone
	}
}

// ---- attribute helpers ----
//
// Each reads one attribute if present and reports whether it set *dst. A
// null value counts as absent, so defaults stay.

func (d *decoder) value(a *hcl.Attribute, ty cty.Type, what string) (cty.Value, bool) {
	v, diags := a.Expr.Value(d.ctx)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	v, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(a.Expr.Range().Ptr(), "Invalid value for "+a.Name, "%s must be %s.", a.Name, what)
		return cty.NilVal, false
	}
	if callsSecretFunc(a.Expr) {
		src := fmt.Sprintf("%s = %s", a.Name, exprText(d.src, a.Expr.Range()))
		d.fromFuncs[a.Expr.Range()] = src
		if v.Type() == cty.String && v.AsString() != "" {
			d.sourced = append(d.sourced, sourced{v.AsString(), src})
		}
	}
	return v, true
}

// exprText is the source of an expression, shortened for a message.
func exprText(src []byte, r hcl.Range) string {
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
		return "(an expression)"
	}
	return cut(strings.Join(strings.Fields(string(r.SliceBytes(src))), " "), 80)
}

func (d *decoder) str(attrs hcl.Attributes, name string, dst *string) bool {
	a := attrs[name]
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.String, "a string")
	if !ok {
		return false
	}
	*dst = v.AsString()
	return true
}

// path reads a file path; a relative one is taken from the policy file's
// directory, as file() does, so that the daemon's working directory does
// not matter.
func (d *decoder) path(attrs hcl.Attributes, name string, dst *string) bool {
	if !d.str(attrs, name, dst) {
		return false
	}
	if *dst != "" && !filepath.IsAbs(*dst) {
		*dst = filepath.Join(filepath.Dir(d.filename), *dst)
	}
	return true
}

func (d *decoder) boolean(attrs hcl.Attributes, name string, dst *bool) bool {
	a := attrs[name]
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.Bool, "true or false")
	if !ok {
		return false
	}
	*dst = v.True()
	return true
}

func (d *decoder) integer(attrs hcl.Attributes, name string, dst *int) bool {
	a := attrs[name]
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.Number, "a whole number")
	if !ok {
		return false
	}
	var i int
	if err := gocty.FromCtyValue(v, &i); err != nil {
		d.errorf(a.Expr.Range().Ptr(), "Invalid value for "+name, "%s must be a whole number.", name)
		return false
	}
	*dst = i
	return true
}

func (d *decoder) number(attrs hcl.Attributes, name string, dst *float64) bool {
	a := attrs[name]
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.Number, "a number")
	if !ok {
		return false
	}
	f, _ := v.AsBigFloat().Float64()
	*dst = f
	return true
}

func (d *decoder) strings(attrs hcl.Attributes, name string, dst *[]string) bool {
	a := attrs[name]
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.List(cty.String), "a list of strings")
	if !ok {
		return false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.errorf(a.Expr.Range().Ptr(), "Invalid value for "+name, "%s must not contain null.", name)
			return false
		}
		out = append(out, e.AsString())
	}
	*dst = out
	return true
}

// secret reads a secret attribute. A non-empty value that does not come from
// env() or file() is accepted with a warning: it works, but the policy file
// is usually readable by more people than the secret should be. Neither the
// warning nor its snippet shows the value.
func (d *decoder) secret(owner string, attrs hcl.Attributes, name string, dst *secret.Value) bool {
	a := attrs[name]
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.String, "a string (use env(\"NAME\") or file(\"/path\"))")
	if !ok {
		return false
	}
	*dst = secret.New(v.AsString())
	if v.AsString() != "" && !callsSecretFunc(a.Expr) {
		rng := a.Expr.Range()
		d.masks = append(d.masks, rng)
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Secret written in the policy file",
			Detail: fmt.Sprintf("%s: %s is written into the policy file as plain text, where anyone who can read the file can read it. Use env(\"NAME\") or file(\"/path\") instead.",
				owner, name),
			Subject: &rng,
		})
	}
	return true
}

// callsSecretFunc reports whether expr takes its value from env() or file().
func callsSecretFunc(expr hcl.Expression) bool {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return false
	}
	found := false
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && (call.Name == "env" || call.Name == "file") {
			found = true
		}
		return nil
	})
	return found
}

// at returns the range of the value of obj's attribute name, or of obj's
// block header when the attribute is absent: the subject of a diagnostic.
func (d *decoder) at(obj any, name string) *hcl.Range {
	if a := d.attrs[obj][name]; a != nil {
		return a.Expr.Range().Ptr()
	}
	if b := d.blocks[obj]; b != nil {
		return b.DefRange.Ptr()
	}
	return nil
}

// has reports whether obj's block set attribute name.
func (d *decoder) has(obj any, name string) bool { return d.attrs[obj][name] != nil }

func (d *decoder) errorf(subject *hcl.Range, summary, format string, args ...any) {
	d.report(hcl.DiagError, subject, summary, format, args)
}

// warnf reports something that works but is likely not what was meant.
func (d *decoder) warnf(subject *hcl.Range, summary, format string, args ...any) {
	d.report(hcl.DiagWarning, subject, summary, format, args)
}

// maxArg is how much of a value a message quotes: a 10 MB string must not
// make a 10 MB error. It is above the longest list a message gives (the
// notify events, 150 bytes).
const maxArg = 256

func (d *decoder) report(sev hcl.DiagnosticSeverity, subject *hcl.Range, summary, format string, args []any) {
	for i, a := range args {
		if err, ok := a.(error); ok && subject != nil && d.fromFuncs[*subject] != "" {
			// A parser's error about a value quotes pieces of it
			// ("invalid port \":pw\""), which scrub cannot find.
			args[i] = errHidden{err, d.fromFuncs[*subject]}
			continue
		}
		s, ok := a.(string)
		if !ok {
			continue
		}
		if src := d.sourceOf(s); src != "" {
			args[i] = fromSource(src)
		} else if len(s) > maxArg {
			args[i] = cut(s, maxArg)
		}
	}
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: sev,
		Summary:  summary,
		Detail:   cut(fmt.Sprintf(format, args...), maxDetail),
		Subject:  subject,
	})
}

// sourceOf returns where s came from when it is a value from env() or
// file() (or of an attribute calling them), or "".
func (d *decoder) sourceOf(s string) string {
	for _, v := range d.sourced {
		if v.value == s {
			return v.source
		}
	}
	return ""
}

// fromSource stands in a message for a value that came from env() or
// file(): under %q and %s alike it names the source, not the value.
type fromSource string

func (f fromSource) Format(st fmt.State, _ rune) {
	_, _ = fmt.Fprintf(st, "(the value of %s)", string(f))
}

// errHidden stands in a message for an error about a value from env() or
// file(): its text may quote the value.
type errHidden struct {
	err    error
	source string
}

func (e errHidden) Error() string {
	return fmt.Sprintf("the reason is not shown, since it may quote the value of %s", e.source)
}

// scrub takes every value from env() and file() out of the diagnostics'
// text, including hcl's own and those that quote an error which quotes the
// value, replacing it with its source. Values shorter than four bytes are
// replaced only where quoted: a bare "ab" would match inside other words.
func (d *decoder) scrub() {
	if len(d.sourced) == 0 || len(d.diags) == 0 {
		return
	}
	vals := slices.Clone(d.sourced)
	slices.SortStableFunc(vals, func(a, b sourced) int { return len(b.value) - len(a.value) })
	var pairs []string
	for _, v := range vals {
		with := fmt.Sprint(fromSource(v.source))
		pairs = append(pairs, strconv.Quote(v.value), with)
		if len(v.value) >= 4 {
			pairs = append(pairs, v.value, with)
		}
	}
	r := strings.NewReplacer(pairs...)
	for _, dg := range d.diags {
		dg.Summary, dg.Detail = r.Replace(dg.Summary), r.Replace(dg.Detail)
	}
}

// shortRange formats a range as file:line,col for "defined at" messages.
func shortRange(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}
