package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	_ "github.com/dbopsd/dbopsd/engines/all"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/when"
)

// unsetEnv clears the environment variables a policy file refers to, for the
// duration of the test.
func unsetEnv(t *testing.T, src []byte) {
	t.Helper()
	for _, m := range regexp.MustCompile(`env\("([A-Za-z0-9_]+)"\)`).FindAllSubmatch(src, -1) {
		t.Setenv(string(m[1]), "")
		os.Unsetenv(string(m[1]))
	}
}

// TestSampleConfig: the root config.hcl must validate with nothing set (no
// environment variables, no secret files), as `dbopsd config validate` does
// in the acceptance scripts.
func TestSampleConfig(t *testing.T) {
	const path = "../config.hcl"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unsetEnv(t, src)
	cfg, diags := Load(path)
	var out bytes.Buffer
	PrintDiagnostics(&out, diags)
	if diags.HasErrors() || cfg == nil {
		t.Fatalf("config.hcl does not validate:\n%s", out.String())
	}
	if len(diags) > 0 {
		t.Errorf("config.hcl has warnings:\n%s", out.String())
	}

	t.Run("content", func(t *testing.T) {
		if n := len(cfg.Databases); n != 7 {
			t.Errorf("%d databases, want 7", n)
		}
		engines := map[string]bool{}
		for _, db := range cfg.Databases {
			engines[db.Engine] = true
			if !db.Password.Empty() {
				t.Errorf("database %s: password should be empty with no environment", db.Name)
			}
		}
		for _, e := range []string{"postgres", "mysql", "mssql"} {
			if !engines[e] {
				t.Errorf("no %s database", e)
			}
			scratch := false
			for _, rt := range cfg.RestoreTargets {
				scratch = scratch || (rt.Scratch && rt.Engine == e)
			}
			if !scratch {
				t.Errorf("no scratch restore target for %s", e)
			}
		}
		for _, name := range []string{"queue", "acceptance", "datahub"} {
			if db, err := cfg.Database(name); err != nil || !db.Critical {
				t.Errorf("%s should be a critical database (%v)", name, err)
			}
		}
		if len(cfg.Storages) != 2 || len(cfg.Repository.Mirrors) != 1 {
			t.Errorf("want two storages, one a mirror")
		}
		if len(cfg.Signers) != 3 {
			t.Errorf("%d signers, want 3", len(cfg.Signers))
		}
	})

	// Every attribute and block of the schema appears in the sample at
	// least once, so the sample is the complete picture.
	t.Run("covers the schema", func(t *testing.T) {
		file, _ := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		seen := map[string]bool{}
		var walk func(prefix string, body *hclsyntax.Body)
		walk = func(prefix string, body *hclsyntax.Body) {
			for name := range body.Attributes {
				seen[prefix+"."+name] = true
			}
			for _, b := range body.Blocks {
				seen[prefix+"."+b.Type] = true
				walk(prefix+"."+b.Type, b.Body)
			}
		}
		walk("", file.Body.(*hclsyntax.Body))
		var check func(prefix string, s *hcl.BodySchema)
		check = func(prefix string, s *hcl.BodySchema) {
			for _, a := range s.Attributes {
				if !seen[prefix+"."+a.Name] {
					t.Errorf("config.hcl never sets %s", strings.TrimPrefix(prefix+"."+a.Name, "."))
				}
			}
			for _, b := range s.Blocks {
				if !seen[prefix+"."+b.Type] {
					t.Errorf("config.hcl has no %s block", strings.TrimPrefix(prefix+"."+b.Type, "."))
				}
			}
		}
		schemas := map[string]*hcl.BodySchema{
			"": rootSchema, ".daemon": daemonBodySchema(), ".storage": storageSchema, ".repository": repositorySchema,
			".policy": policySchema, ".policy.retention": retentionSchema, ".database": databaseSchema,
			".restore_target": restoreTargetSchema, ".signer": signerSchema, ".approvals": approvalsSchema,
			".notify": notifySchema, ".report": reportSchema, ".reconcile": reconcileSchema,
		}
		for prefix, s := range schemas {
			check(prefix, s)
		}
	})
}

// clearRanges zeroes the source ranges so decoded values compare by content.
func clearRanges(c *Config) {
	c.Daemon.Range, c.Repository.Range = hcl.Range{}, hcl.Range{}
	for _, v := range c.Storages {
		v.Range = hcl.Range{}
	}
	for _, v := range c.Policies {
		v.Range = hcl.Range{}
	}
	for _, v := range c.Databases {
		v.Range = hcl.Range{}
	}
	for _, v := range c.RestoreTargets {
		v.Range = hcl.Range{}
	}
	for _, v := range c.Signers {
		v.Range = hcl.Range{}
	}
	for _, v := range c.Notifies {
		v.Range = hcl.Range{}
	}
	for _, v := range c.Reports {
		v.Range = hcl.Range{}
	}
}

// takeSpecs checks that every policy's schedules were parsed as written,
// and clears them, for a comparison of the rest.
func takeSpecs(t *testing.T, c *Config) {
	t.Helper()
	for name, p := range c.Policies {
		if p.FullSpec == nil || !strings.HasPrefix(p.FullSpec.String(), p.Full) {
			t.Errorf("policy %s: full = %q parsed as %v", name, p.Full, p.FullSpec)
		}
		if (p.Differential == None) != (p.DifferentialSpec == nil) ||
			(p.DifferentialSpec != nil && !strings.HasPrefix(p.DifferentialSpec.String(), p.Differential)) {
			t.Errorf("policy %s: differential = %q parsed as %v", name, p.Differential, p.DifferentialSpec)
		}
		if when.IsCron(p.Verify) != (p.VerifySpec != nil) || (p.VerifySpec != nil && p.VerifySpec.String() != p.Verify) {
			t.Errorf("policy %s: verify = %q parsed as %v", name, p.Verify, p.VerifySpec)
		}
		p.FullSpec, p.DifferentialSpec, p.VerifySpec = nil, nil, nil
	}
}

func TestGoodConfigs(t *testing.T) {
	t.Setenv("DBOPS_GOOD_ACCESS_KEY", "AKIAGOOD")
	t.Setenv("DBOPS_GOOD_SECRET_KEY", "s3-secret-good")
	t.Setenv("DBOPS_GOOD_QUEUE_PASSWORD", "queue-pass-good")
	t.Setenv("DBOPS_GOOD_HOOK_SECRET", "hook-secret-good")
	t.Setenv("DBOPS_GOOD_UNSET", "")
	os.Unsetenv("DBOPS_GOOD_UNSET")

	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINorcO1VxbRxoYGxJTEJ8i8Y/Ar6zSCLgF8hMOKsDDR8 zhang.wei@ops"
	tests := []struct {
		file string
		want *Config
	}{
		{"full.hcl", &Config{
			Path: "testdata/good/full.hcl",
			Daemon: Daemon{
				StateDir: "/srv/dbopsd/state", Socket: "/srv/dbopsd/dbopsd.sock", HTTPListen: "0.0.0.0:9999",
				MaxParallel: 4, PerServer: 2, Timezone: "Asia/Shanghai", ToolDirs: map[string]string{"pg_bin_dir": "/usr/lib/postgresql/17/bin"},
				RequestListen: "10.1.1.5:9443", TLSCert: "testdata/tls/server.crt", TLSKey: "testdata/tls/server.key",
			},
			Storages: map[string]*Storage{
				"primary": {
					Name: "primary", Type: "s3", Endpoint: "10.1.1.20:9000", Bucket: "dbops", Prefix: "chenggong",
					Region: "cn-east-1", AccessKey: secret.New("AKIAGOOD"), SecretKey: secret.New("s3-secret-good"),
					UseTLS: true, CAFile: "/etc/dbopsd/ca.pem", ObjectLock: true,
				},
				"offsite": {Name: "offsite", Type: "local", Path: "/mnt/offsite"},
			},
			Repository: Repository{Storage: "primary", Mirrors: []string{"offsite"}, Passphrase: secret.New("repo-pass-from-file"), PassphraseSource: `file("repo.pass")`},
			Policies: map[string]*Policy{
				"important": {
					Name: "important", Full: Quarterly, Differential: Weekly, Window: when.Window{Start: 22 * time.Hour, End: 4 * time.Hour},
					Verify: VerifyAfterEach, VerifyTarget: "scratch-pg", DifferentialMaxRatio: 0.25, Parallel: 8,
					Retention: Retention{Generations: 5, Monthly: 12, Quarterly: 8, Yearly: 7}, FullDay: time.Saturday,
					FullTime: 22*time.Hour + 30*time.Minute, DifferentialTime: 23*time.Hour + 15*time.Minute,
					DifferentialAnchor: time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC),
					MaintenanceWindow:  when.Window{Start: time.Hour, End: 5 * time.Hour}, MaintenanceLockTimeout: 10 * time.Second,
				},
				"fortnight": {
					Name: "fortnight", Full: Monthly, Differential: Biweekly, Verify: None,
					DifferentialMaxRatio: 0.5, Parallel: 2, Retention: Retention{Generations: 3},
					FullDay: time.Saturday, FullTime: time.Hour, DifferentialTime: time.Hour,
					DifferentialAnchor: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), MaintenanceLockTimeout: 5 * time.Second,
				},
				"cron": {
					Name: "cron", Full: "0 2 * * 0", Differential: None, Verify: VerifyAfterFull, VerifyTarget: "scratch-pg",
					DifferentialMaxRatio: 0.5, Parallel: 2, Retention: Retention{Generations: 3},
					FullDay: time.Sunday, FullTime: time.Hour, DifferentialTime: time.Hour,
					DifferentialAnchor: time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC), MaintenanceLockTimeout: 5 * time.Second,
				},
			},
			Databases: map[string]*Database{
				"queue": {
					Name: "queue", Engine: "postgres", DSN: "postgres://dbops@10.1.1.11:5432/queue",
					Password: secret.New("queue-pass-good"), Policy: "important", Critical: true, Description: "预约排队叫号系统",
				},
				"weekly": {Name: "weekly", Engine: "postgres", DSN: "host=10.1.1.11 dbname=weekly user=dbops", Policy: "cron", Critical: true},
			},
			RestoreTargets: map[string]*RestoreTarget{
				"scratch-pg": {
					Name: "scratch-pg", Engine: "postgres", DSN: "postgres://dbops@10.1.1.50/postgres",
					Scratch: true, AllowRestore: true, KeepOnFailure: true,
				},
				"scratch-mssql": {Name: "scratch-mssql", Engine: "mssql", DSN: "sqlserver://dbops@10.1.1.52/SQLEXPRESS?database=master"},
			},
			Signers: map[string]*Signer{
				"zhang.wei": {Name: "zhang.wei", PublicKey: key, Roles: []string{"dba", "approver", "auditor"}},
			},
			Approvals: Approvals{Drill: 0, Restore: 3, Maintenance: 1},
			Notifies: map[string]*Notify{
				"bureau": {
					Name: "bureau", Type: "email", SMTP: "smtp.example.gov.cn:465", SMTPTLS: "implicit", CAFile: "testdata/tls/server.crt", Username: "dbopsd",
					Password: secret.New("smtp-pass-from-file"), From: "dbopsd@example.gov.cn",
					To: []string{"a@example.gov.cn", "b@example.gov.cn"}, Events: []string{"backup_failed", "monthly_report"},
				},
				"hook": {
					Name: "hook", Type: "webhook", URL: "https://ops.example.gov.cn/hook",
					Secret: secret.New("hook-secret-good"), Events: []string{"stale", "daemon_gap"},
				},
			},
			Reports: map[string]*Report{
				"weekly": {Name: "weekly", Schedule: "0 8 * * 1", Language: "en", Notify: []string{"bureau", "hook"},
					ReportPolicy: ReportPolicy{Kind: Weekly, Per: ReportPerSite, Site: "weekly", Font: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", Dictionaries: DictionariesChanged}},
			},
			Reconciles: map[string]*Reconcile{},
		}},
		{"minimal.hcl", &Config{
			Path: "testdata/good/minimal.hcl",
			Daemon: Daemon{
				StateDir: "/var/lib/dbopsd", Socket: "/run/dbopsd/dbopsd.sock", HTTPListen: "127.0.0.1:9187",
				MaxParallel: 2, Timezone: "Local",
			},
			Storages:   map[string]*Storage{"local": {Name: "local", Type: "local", Path: "/srv/dbops"}},
			Repository: Repository{Storage: "local", PassphraseSource: `env("DBOPS_GOOD_UNSET")`},
			Policies: map[string]*Policy{"standard": {
				Name: "standard", Full: Monthly, Differential: Biweekly, Verify: None,
				DifferentialMaxRatio: 0.5, Parallel: 2, Retention: Retention{Generations: 3},
				FullDay: time.Sunday, FullTime: time.Hour, DifferentialTime: time.Hour,
				DifferentialAnchor: time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC), MaintenanceLockTimeout: 5 * time.Second,
			}},
			Databases: map[string]*Database{"queue": {
				Name: "queue", Engine: "mysql", DSN: "dbops@tcp(127.0.0.1:3306)/queue", Policy: "standard",
			}},
			RestoreTargets: map[string]*RestoreTarget{},
			Signers:        map[string]*Signer{},
			Approvals:      Approvals{Drill: 1, Restore: 2, Maintenance: 2},
			Notifies:       map[string]*Notify{},
			Reports: map[string]*Report{"monthly": {Name: "monthly", Schedule: Monthly, Language: "zh-CN",
				ReportPolicy: ReportPolicy{Kind: Monthly, Per: ReportPerSite, Site: "monthly", Font: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", Dictionaries: DictionariesChanged}}},
			Reconciles: map[string]*Reconcile{},
		}},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".hcl"), func(t *testing.T) {
			cfg, diags := Load(filepath.Join("testdata/good", tc.file))
			if len(diags) > 0 {
				var out bytes.Buffer
				PrintDiagnostics(&out, diags)
				t.Fatalf("unexpected diagnostics:\n%s", out.String())
			}
			wantLoc := tc.want.Daemon.Timezone
			if cfg.Daemon.Location == nil || cfg.Daemon.Location.String() != wantLoc {
				t.Errorf("Location = %v, want %s", cfg.Daemon.Location, wantLoc)
			}
			if cfg.Daemon.Range.Empty() && tc.file == "full.hcl" {
				t.Errorf("daemon range not recorded")
			}
			if r := cfg.Databases["queue"].Range; r.Start.Line == 0 || r.Filename != tc.want.Path {
				t.Errorf("database range %v not recorded", r)
			}
			cfg.Daemon.Location = nil
			clearRanges(cfg)
			takeSpecs(t, cfg)
			if !reflect.DeepEqual(cfg, tc.want) {
				got, _ := json.MarshalIndent(cfg, "", "  ")
				want, _ := json.MarshalIndent(tc.want, "", "  ")
				t.Errorf("decoded config differs (secrets show as [redacted] here)\ngot:  %s\nwant: %s", got, want)
				for name, s := range cfg.Storages {
					if w := tc.want.Storages[name]; w != nil && !reflect.DeepEqual(s, w) {
						t.Errorf("storage %s: %#v", name, *s)
					}
				}
			}
		})
	}
}

// An env() of an unset variable is an empty secret ("none"), not an error.
func TestEnvUnsetIsEmptySecret(t *testing.T) {
	t.Setenv("DBOPS_TEST_NEVER_SET", "")
	os.Unsetenv("DBOPS_TEST_NEVER_SET")
	src := `
storage "s" {
  type = "local"
  path = "/tmp/x"
}
repository {
  storage    = "s"
  passphrase = env("DBOPS_TEST_NEVER_SET")
}
policy "p" {}
database "d" {
  engine   = "postgres"
  dsn      = "postgres://u@h/d"
  password = env("DBOPS_TEST_NEVER_SET")
  policy   = "p"
}
`
	cfg, diags := Parse([]byte(src), "env.hcl")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diags.Error())
	}
	if !cfg.Databases["d"].Password.Empty() || !cfg.Repository.Passphrase.Empty() {
		t.Errorf("unset env() should give an empty secret")
	}
}

func TestFileFunction(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const secretText = "p@ss w0rd-from-file"
	tests := []struct {
		name    string
		arg     string // file() argument, relative to dir unless absolute
		want    string
		wantErr string
	}{
		{"trailing newline trimmed", write("a", secretText+"\n"), secretText, ""},
		{"only one newline trimmed", write("b", secretText+"\n\n"), secretText + "\n", ""},
		{"CRLF trimmed", write("c", secretText+"\r\n"), secretText, ""},
		{"no newline", write("d", secretText), secretText, ""},
		{"relative to the policy file", "a", secretText, ""},
		{"empty file", write("e", ""), "", ""},
		{"missing", filepath.Join(dir, "missing"), "", "no such file or directory"},
		{"directory", dir, "", "is a directory"},
		{"binary", write("f", secretText+"\xff\xfe"), "", "not UTF-8"},
		{"too large", write("g", secretText+strings.Repeat("x", maxSecretFile)), "", "larger than"},
		{"empty path", "", "", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf(`
storage "s" {
  type = "local"
  path = "/tmp/x"
}
repository {
  storage    = "s"
  passphrase = file(%q)
}
`, tc.arg)
			cfg, diags := Parse([]byte(src), filepath.Join(dir, "policy.hcl"))
			var out bytes.Buffer
			PrintDiagnostics(&out, diags)
			if tc.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(out.String(), tc.wantErr) {
					t.Fatalf("want error containing %q, got:\n%s", tc.wantErr, out.String())
				}
				if strings.Contains(out.String(), secretText) {
					t.Errorf("the error shows the file's content:\n%s", out.String())
				}
				errs := errorsOf(diags)
				if s := errs[0].Subject; s == nil || s.Start.Line != 8 || s.Start.Column != 16 {
					t.Errorf("error should point at the file() call (8:16), got %v", s)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected error:\n%s", out.String())
			}
			if got := cfg.Repository.Passphrase.Reveal(); got != tc.want {
				t.Errorf("file() = %q, want %q", got, tc.want)
			}
		})
	}
}

// A secret written into the file works, with a warning that names neither
// the value nor shows it in the snippet.
func TestLiteralSecretWarning(t *testing.T) {
	const pass = "Literal-Repo-Passphrase-42"
	src := `
storage "s" {
  type       = "s3"
  endpoint   = "127.0.0.1:9000"
  bucket     = "dbops"
  access_key = "minioadmin"
  secret_key = "${env("DBOPS_TEST_SK")}x"
}
repository {
  storage    = "s"
  passphrase = "` + pass + `"
}
`
	cfg, diags := Parse([]byte(src), "literal.hcl")
	if diags.HasErrors() {
		t.Fatalf("a literal secret must not be an error: %s", diags.Error())
	}
	if cfg.Repository.Passphrase.Reveal() != pass {
		t.Errorf("the literal value should still be used")
	}
	var out bytes.Buffer
	PrintDiagnostics(&out, diags)
	if len(diags) != 2 {
		t.Fatalf("want 2 warnings (access_key, passphrase; not secret_key, which uses env()), got:\n%s", out.String())
	}
	for _, d := range diags {
		if d.Severity != hcl.DiagWarning || !strings.Contains(d.Detail, `env("NAME")`) || !strings.Contains(d.Detail, `file("/path")`) {
			t.Errorf("unexpected diagnostic: %s: %s", d.Summary, d.Detail)
		}
	}
	if pos := posOf(diags[1].Subject); pos != "11:16" {
		t.Errorf("passphrase warning at %s, want 11:16", pos)
	}
	for _, leaked := range []string{pass, "minioadmin"} {
		if strings.Contains(out.String(), leaked) {
			t.Errorf("the warning output shows the secret:\n%s", out.String())
		}
	}
}

// Printing a Config in any of the usual ways shows no secret.
func TestConfigPrintsNoSecrets(t *testing.T) {
	secrets := map[string]string{
		"DBOPS_T_AK": "ak-9f8e7d", "DBOPS_T_SK": "sk-6c5b4a", "DBOPS_T_DB": "dbpw-3a2b1c",
		"DBOPS_T_RT": "rtpw-0f1e2d", "DBOPS_T_NP": "smtp-pw-4c5d", "DBOPS_T_NS": "hmac-7e8f",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	const filePass = "repo-pass-5a6b7c"
	if err := os.WriteFile(filepath.Join(dir, "repo.pass"), []byte(filePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
storage "s" {
  type       = "s3"
  endpoint   = "127.0.0.1:9000"
  bucket     = "dbops"
  access_key = env("DBOPS_T_AK")
  secret_key = env("DBOPS_T_SK")
}
repository {
  storage    = "s"
  passphrase = file("repo.pass")
}
policy "p" {
  verify_target = "t"
}
database "d" {
  engine   = "postgres"
  dsn      = "postgres://u@h/d"
  password = env("DBOPS_T_DB")
  policy   = "p"
}
restore_target "t" {
  engine   = "postgres"
  dsn      = "postgres://u@h/postgres"
  password = env("DBOPS_T_RT")
  scratch  = true
}
notify "n" {
  type     = "email"
  smtp     = "smtp.example.gov.cn:587"
  password = env("DBOPS_T_NP")
  from     = "a@example.gov.cn"
  to       = ["b@example.gov.cn"]
  events   = ["stale"]
}
notify "w" {
  type   = "webhook"
  url    = "https://example.gov.cn/h"
  secret = env("DBOPS_T_NS")
  events = ["stale"]
}
`
	cfg, diags := Parse([]byte(src), filepath.Join(dir, "p.hcl"))
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diags.Error())
	}
	if cfg.Storages["s"].SecretKey.Reveal() != "sk-6c5b4a" || cfg.Repository.Passphrase.Reveal() != filePass {
		t.Fatalf("secrets not decoded")
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{"json": string(js)}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		outputs[verb] = fmt.Sprintf(verb, cfg) + fmt.Sprintf(verb, *cfg)
		for _, name := range []string{"s"} {
			outputs[verb] += fmt.Sprintf(verb, cfg.Storages[name]) + fmt.Sprintf(verb, *cfg.Storages[name])
		}
		outputs[verb] += fmt.Sprintf(verb, *cfg.Databases["d"]) + fmt.Sprintf(verb, *cfg.RestoreTargets["t"]) +
			fmt.Sprintf(verb, *cfg.Notifies["n"]) + fmt.Sprintf(verb, *cfg.Notifies["w"]) + fmt.Sprintf(verb, cfg.Repository)
	}
	for how, out := range outputs {
		for _, s := range append(mapValues(secrets), filePass) {
			if i := strings.Index(out, s); i >= 0 {
				t.Errorf("%s output reveals %q: %s", how, s, out[max(0, i-300):i+20])
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

func TestRecoveryGap(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		full, diff string
		over       bool
		gapDays    int // 0: don't check
	}{
		{Monthly, Weekly, false, 7},
		{Monthly, Biweekly, false, 14},
		{Monthly, None, true, 0},
		{Quarterly, None, true, 0},
		{Monthly, "0 1 * * *", false, 0},           // daily
		{Monthly, "0 1 1,15 * *", true, 17},        // 15th to the 1st: up to 17 days
		{Monthly, "0 1 1,8,15,22 * *", false, 0},   // never more than 10 days
		{Monthly, "0 1 1 * *", true, 31},           // monthly via cron
		{Monthly, "* * * * *", false, 0},           // every minute: cheap too
		{"0 2 * * 0", None, false, 0},              // weekly full alone suffices
		{"0 2 1 * *", "0 3 15 * *", true, 17},      // full on the 1st, diff on the 15th
		{"0 2 1 * *", "0 3 8,15,22 * *", false, 0}, // together, at most 10 days
		{Monthly, "0 1 29 2 *", true, 0},           // only on leap days: beyond a year
	}
	for _, tc := range tests {
		t.Run(tc.full+"/"+tc.diff, func(t *testing.T) {
			p := &Policy{Full: tc.full, Differential: tc.diff}
			if err := p.parseSchedules(time.UTC); err != nil {
				t.Fatal(err)
			}
			gap, over := recoveryGap(p, time.UTC)
			if over != tc.over {
				t.Errorf("over = %v (gap %v), want %v", over, gap, tc.over)
			}
			// The gap is exact when over the limit (and for the named
			// schedules); below it only "not over" is promised.
			if tc.gapDays != 0 && days(gap) != fmt.Sprintf("%d days", tc.gapDays) {
				t.Errorf("gap = %v (%s), want %d days", gap, days(gap), tc.gapDays)
			}
		})
	}
}

// policySite is a policy file with one policy "p", body inserted, and a
// critical database on it; the policy's attributes start on line 10.
func policySite(body string) string {
	return `storage "s" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "s"
  passphrase = env("DBOPS_TEST_UNSET")
}
policy "p" {
` + body + `}
database "db" {
  engine   = "postgres"
  dsn      = "postgres://dbops@127.0.0.1:5432/db"
  policy   = "p"
  critical = true
}
`
}

// The day and times of the named schedules: decoded case-insensitively,
// warned about where they change nothing, and no obstacle to the critical
// two-week rule, which still refuses a policy without differentials.
func TestNamedScheduleTimes(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET", "")
	os.Unsetenv("DBOPS_TEST_UNSET")
	tests := []struct {
		name string
		body string
		// warn is a substring of the one warning expected, at pos; "" for
		// none.
		warn, pos string
		err       string // a substring of the one error expected
	}{
		{name: "all set, biweekly on the anchor's day", body: `  full_day            = "SATURDAY"
  full_time           = "02:30"
  differential_time   = "04:00"
  differential_anchor = "2025-03-01"
`},
		{name: "weekly", body: `  differential      = "weekly"
  full_day          = "friday"
  differential_time = "23:00"
`},
		{name: "full_day of a cron full still sets the differentials' day", body: `  full     = "0 2 1 * *"
  full_day = "saturday"
`},
		{name: "full_time of a cron full", body: `  full      = "0 2 1 * *"
  full_time = "03:00"
`, warn: `full_time has no effect: full = "0 2 1 * *" is a cron expression`, pos: "11:15"},
		{name: "full_day with no named schedule", body: `  full         = "0 2 * * 0"
  differential = "none"
  full_day     = "monday"
`, warn: "full_day has no effect", pos: "12:18"},
		{name: "differential_time of a cron differential", body: `  differential      = "0 3 * * 3"
  differential_time = "03:00"
`, warn: `differential_time has no effect: differential = "0 3 * * 3" is a cron expression`, pos: "11:23"},
		{name: "differential_time without differentials", body: `  full              = "0 2 * * 0"
  differential      = "none"
  differential_time = "03:00"
`, warn: `differential_time has no effect: differential = "none"`, pos: "12:23"},
		{name: "anchor of weekly differentials", body: `  differential        = "weekly"
  differential_anchor = "2024-01-07"
`, warn: `differential_anchor has no effect: only differential = "biweekly" counts`, pos: "11:25"},
		{name: "anchor on another day", body: `  differential_anchor = "2025-01-08"
`, warn: "differential_anchor 2025-01-08 is a Wednesday, but differentials run on full_day, Sunday: they count their fortnights from Sunday 2025-01-12", pos: "10:25"},
		{name: "critical without differentials", body: `  full_day     = "saturday"
  full_time    = "02:30"
  differential = "none"
`, err: "critical databases need a differential at least every two weeks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := Parse([]byte(policySite(tc.body)), "times.hcl")
			var out bytes.Buffer
			PrintDiagnostics(&out, diags)
			if tc.err != "" {
				if errs := errorsOf(diags); len(errs) != 1 || !strings.Contains(errs[0].Detail, tc.err) {
					t.Fatalf("want one error %q, got:\n%s", tc.err, out.String())
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected errors:\n%s", out.String())
			}
			if tc.warn == "" {
				if len(diags) > 0 {
					t.Errorf("unexpected warnings:\n%s", out.String())
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Detail, tc.warn) {
				t.Fatalf("want one warning %q, got:\n%s", tc.warn, out.String())
			}
			if got := posOf(diags[0].Subject); got != tc.pos {
				t.Errorf("warning at %s, want %s", got, tc.pos)
			}
			if cfg == nil {
				t.Error("a warning must not refuse the configuration")
			}
		})
	}

	cfg, diags := Parse([]byte(policySite(tests[0].body)), "times.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p := cfg.Policies["p"]
	if p.FullDay != time.Saturday || p.FullTime != 2*time.Hour+30*time.Minute || p.DifferentialTime != 4*time.Hour ||
		!p.DifferentialAnchor.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("decoded %v %v %v %v", p.FullDay, p.FullTime, p.DifferentialTime, p.DifferentialAnchor)
	}
}

func TestDifferentialStart(t *testing.T) {
	date := func(s string) time.Time { return mustDate(s) }
	for _, tc := range []struct {
		day          time.Weekday
		anchor, want string
	}{
		{time.Sunday, "2024-01-07", "2024-01-07"},   // the default: the anchor itself
		{time.Saturday, "2024-01-07", "2024-01-13"}, // the next Saturday
		{time.Wednesday, "2025-01-08", "2025-01-08"},
		{time.Sunday, "2025-01-08", "2025-01-12"},
		{time.Tuesday, "2025-01-08", "2025-01-14"},
	} {
		p := &Policy{FullDay: tc.day, DifferentialAnchor: date(tc.anchor)}
		if got := p.DifferentialStart(); !got.Equal(date(tc.want)) {
			t.Errorf("%s from %s: %s, want %s", tc.day, tc.anchor, got.Format(dateLayout), tc.want)
		}
	}
	// A Policy not from a file counts from the default anchor.
	if got := (&Policy{}).DifferentialStart(); !got.Equal(date(DefaultDifferentialAnchor)) {
		t.Errorf("zero Policy: %s", got)
	}
}

func TestLookups(t *testing.T) {
	cfg, diags := Load("testdata/good/minimal.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	db, err := cfg.Database("queue")
	if err != nil || db.Name != "queue" {
		t.Fatalf("Database(queue) = %v, %v", db, err)
	}
	if p := cfg.PolicyFor(db); p == nil || p.Name != "standard" {
		t.Errorf("PolicyFor(queue) = %v", p)
	}
	if _, err := cfg.Storage("local"); err != nil {
		t.Errorf("Storage(local): %v", err)
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"database", func() error { _, err := cfg.Database("queu"); return err }, `database "queu": not defined in the policy file in testdata/good/minimal.hcl (defined: queue) Did you mean "queue"?`},
		{"restore target", func() error { _, err := cfg.RestoreTarget("scratch"); return err }, `restore_target "scratch": not defined in the policy file in testdata/good/minimal.hcl (none is defined)`},
		{"storage", func() error { _, err := cfg.Storage("primary"); return err }, `storage "primary": not defined in the policy file in testdata/good/minimal.hcl (defined: local)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, ErrNotDefined) {
				t.Fatalf("error %v does not wrap ErrNotDefined", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err, tc.want)
			}
		})
	}
}

func TestDatabaseNamesCriticalFirst(t *testing.T) {
	cfg := &Config{Databases: map[string]*Database{
		"b": {Name: "b"}, "a": {Name: "a"}, "z": {Name: "z", Critical: true}, "c": {Name: "c", Critical: true},
	}}
	if got, want := cfg.DatabaseNames(), []string{"c", "z", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DatabaseNames() = %v, want %v", got, want)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("DBOPS_CONFIG", "")
	if got := DefaultPath(); got != "/etc/dbopsd/config.hcl" {
		t.Errorf("DefaultPath() = %q", got)
	}
	t.Setenv("DBOPS_CONFIG", "/srv/dbops/policy.hcl")
	if got := DefaultPath(); got != "/srv/dbops/policy.hcl" {
		t.Errorf("DefaultPath() = %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	cfg, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if cfg != nil || !diags.HasErrors() {
		t.Fatalf("want an error")
	}
	var out bytes.Buffer
	if err := PrintDiagnostics(&out, diags); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Cannot read the configuration file") {
		t.Errorf("output: %s", out.String())
	}
}

// Diagnostics written to something that is not a terminal carry no colour.
func TestPrintDiagnosticsPlain(t *testing.T) {
	_, diags := Load("testdata/bad/bad_engine.hcl")
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := PrintDiagnostics(f, diags); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.Name())
	if bytes.Contains(b, []byte("\x1b[")) {
		t.Errorf("colour codes in a file:\n%s", b)
	}
	if !bytes.Contains(b, []byte(`19:   engine = "oracle"`)) {
		t.Errorf("snippet missing:\n%s", b)
	}
}

// BenchmarkParse500 decodes and validates a site with 500 databases (issue 5
// aims at under 0.5 s for `config validate` of such a file).
func BenchmarkParse500(b *testing.B) {
	var src strings.Builder
	src.WriteString(`
storage "s" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "s"
  passphrase = env("DBOPS_BENCH_UNSET")
}
policy "important" {
  full         = "0 1 1 * *"
  differential = "0 2 * * 0"
  window       = "00:30-05:30"
}
`)
	for i := range 500 {
		fmt.Fprintf(&src, `
database "db%03d" {
  engine   = "postgres"
  dsn      = "postgres://dbops@10.1.%d.%d:5432/db%03d"
  password = env("DB%03d_PASSWORD")
  policy   = "important"
  critical = true
}
`, i, i/250, i%250+1, i, i)
	}
	data := []byte(src.String())
	b.ResetTimer()
	for b.Loop() {
		if _, diags := Parse(data, "bench.hcl"); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

// TestDiagnosticsBlock: the diagnostics { } block's settings and
// suppressions reach the policy; a policy without one gets the defaults.
func TestDiagnosticsBlock(t *testing.T) {
	src := `
storage "s" {
  type = "local"
  path = "/srv/x"
}
repository {
  storage    = "s"
  passphrase = "p"
}
policy "p" {
  diagnostics {
    daily_time       = "05:15"
    monthly_day      = 3
    long_transaction = "20m"
    bloat_pct        = 40
    capacity         = "1.5TiB"
    suppress "ssl-off" {
      database = "hall"
      reason   = "internal network"
      until    = "2027-01-01"
    }
  }
}
policy "q" {}
database "hall" {
  engine = "postgres"
  dsn    = "postgres://u@h/hall"
  policy = "p"
}
database "gate" {
  engine = "postgres"
  dsn    = "postgres://u@h/gate"
  policy = "q"
  diagnostics {
    daily_time = "04:00"
  }
}
database "kiosk" {
  engine = "postgres"
  dsn    = "postgres://u@h/kiosk"
  policy = "q"
}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "p.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	g := cfg.DiagnosticsFor(cfg.Databases["hall"])
	if g.DailyTime != 5*time.Hour+15*time.Minute || g.MonthlyDay != 3 || g.MonthlyTime != DefaultDiagnosticsMonthlyTime ||
		g.LongTransaction != 20*time.Minute || g.BloatPct != 40 || g.Capacity != 3<<39 || g.HorizonDays != DefaultHorizonDays {
		t.Errorf("diagnostics %+v", g)
	}
	if len(g.Suppressions) != 1 || g.Suppressions[0].Check != "ssl-off" || g.Suppressions[0].Reason != "internal network" ||
		!g.Suppressions[0].Until.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("suppressions %+v", g.Suppressions)
	}
	if d := cfg.DiagnosticsFor(cfg.Databases["gate"]); d.DailyTime != 4*time.Hour || d.Suppressions != nil {
		t.Errorf("the database's own block %+v", d)
	}
	if d := cfg.DiagnosticsFor(cfg.Databases["kiosk"]); d.DailyTime != DefaultDiagnosticsDailyTime || d.HorizonDays != DefaultHorizonDays {
		t.Errorf("defaults %+v", d)
	}
}
