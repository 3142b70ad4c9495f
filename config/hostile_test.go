package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// minimalPolicy is a valid policy; hostile tests add one attribute or block.
const minimalPolicy = `
storage "s" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "s"
  passphrase = env("DBOPS_TEST_UNSET_PASSPHRASE")
}
policy "p" {
  full         = "monthly"
  differential = "biweekly"
}
database "queue" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/queue"
  policy = "p"
}
`

// parseBounded parses src in a goroutine and fails the test when it takes
// longer than limit: a loader that hangs or crawls must fail, not stall the
// suite.
func parseBounded(t *testing.T, src []byte, filename string, limit time.Duration) (*Config, hcl.Diagnostics, string) {
	t.Helper()
	type result struct {
		cfg   *Config
		diags hcl.Diagnostics
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		cfg, diags := Parse(src, filename)
		done <- result{cfg, diags}
	}()
	select {
	case r := <-done:
		var out bytes.Buffer
		if err := PrintDiagnostics(&out, r.diags); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d bytes: %v", len(src), time.Since(start).Round(time.Millisecond))
		return r.cfg, r.diags, out.String()
	case <-time.After(limit):
		t.Fatalf("Parse of %d bytes still running after %v", len(src), limit)
		return nil, nil, ""
	}
}

// TestHostileNesting: input that used to overflow the Go stack (a fatal
// error that ended `config validate` and, on SIGHUP, the agent) or took
// seconds and hundreds of MB is refused quickly with its place.
func TestHostileNesting(t *testing.T) {
	rep := strings.Repeat
	cases := []struct {
		name, expr string
		want       string
	}{
		{"brackets 60000 deep", rep("[", 60000) + rep("]", 60000), "Nested too deeply"},
		{"parentheses 100000 deep", rep("(", 100000) + "1" + rep(")", 100000), "Nested too deeply"},
		{"objects", rep("{a = ", 30000) + "1" + rep("}", 30000), "Nested too deeply"},
		{"negation chain", rep("-", 200000) + "1", "Nested too deeply"},
		{"not chain", rep("!", 200000) + "true", "Nested too deeply"},
		{"conditional chain", rep("true ? 1 : ", 80000) + "1", "Nested too deeply"},
		{"addition chain", "1" + rep("+1", 200000), "Nested too deeply"},
		{"addition chain over lines", "(1" + rep("\n+1", 200000) + ")", "Nested too deeply"},
		{"addition chain over lines in an interpolation", `"${1` + rep("\n+1", 200000) + `}"`, "Nested too deeply"},
		{"index chain", "x" + rep("[0]", 100000), "Nested too deeply"},
		{"attribute chain", "x" + rep(".a", 100000), "Nested too deeply"},
		{"splat chain", "x" + rep("[*]", 100000), "Nested too deeply"},
		{"nested interpolations", `"` + rep(`${"`, 50000) + rep(`"}`, 50000) + `"`, "Nested too deeply"},
		{"nested directives", `"` + rep("%{if true}", 50000) + rep("%{endif}", 50000) + `"`, "Nested too deeply"},
		{"nested function calls", rep("env(", 50000) + `"X"` + rep(")", 50000), "Nested too deeply"},
		{"heredoc interpolations", "<<EOT\n" + rep("${<<EOT\n", 20000) + rep("EOT\n}", 20000) + "\nEOT\n", "Nested too deeply"},
		// Not nesting, but as slow: hcl joins a string's pieces in
		// quadratic time.
		{"heredoc of 100000 lines", "<<EOT\n" + rep("Asia/\n", 100000) + "EOT\n", "String too long"},
		{"escapes", `"` + rep("$${a}", 100000) + `"`, "String too long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := minimalPolicy + "daemon {\n  timezone = " + tc.expr + "\n}\n"
			cfg, diags, out := parseBounded(t, []byte(src), "deep.hcl", 20*time.Second)
			if cfg != nil || !diags.HasErrors() {
				t.Fatalf("accepted:\n%s", cut(out, 2000))
			}
			errs := errorsOf(diags)
			if len(errs) != 1 || errs[0].Summary != tc.want || errs[0].Subject == nil || errs[0].Subject.Start.Line < 20 {
				t.Fatalf("want one %q error from line 20 on:\n%s", tc.want, cut(out, 2000))
			}
			if len(out) > 4000 {
				t.Errorf("printed %d bytes:\n%s", len(out), cut(out, 2000))
			}
		})
	}

	// Nesting within the limit still works, and each allowed construct
	// keeps working.
	ok := minimalPolicy + `
daemon {
  timezone = "${env("DBOPS_TEST_UNSET_TZ") != "" ? env("DBOPS_TEST_UNSET_TZ") : "UTC"}"
  max_parallel = ((((((((((1 + 1) * 2) - 1) / 1)))))))
}
notify "n" {
  type   = "webhook"
  url    = "https://hooks.example.com/x"
  events = [[[[[[[[[[[["backup_failed"]]]]]]]]]]]][0][0][0][0][0][0][0][0][0][0][0]
}
`
	cfg, _, out := parseBounded(t, []byte(ok), "ok.hcl", 20*time.Second)
	if cfg == nil {
		t.Fatalf("a policy nesting a few levels is refused:\n%s", out)
	}
	if cfg.Daemon.Timezone != "UTC" || cfg.Daemon.MaxParallel != 3 || len(cfg.Notifies["n"].Events) != 1 {
		t.Errorf("decoded %+v %v", cfg.Daemon, cfg.Notifies["n"].Events)
	}
}

// TestPolicyFileSize: a file over MaxPolicyFile is refused, read from disk
// or given in memory; one just under it is parsed in bounded time.
func TestPolicyFileSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.hcl")
	big := minimalPolicy + "# " + strings.Repeat("x", MaxPolicyFile) + "\n"
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(path)
	if cfg != nil || !strings.Contains(diags.Error(), fmt.Sprintf("larger than %d bytes", MaxPolicyFile)) {
		t.Fatalf("Load of a file over the limit: %v", diags)
	}
	cfg, diags, _ = parseBounded(t, []byte(big), "big.hcl", 20*time.Second)
	if cfg != nil || !strings.Contains(diags.Error(), fmt.Sprintf("may be at most %d bytes", MaxPolicyFile)) {
		t.Fatalf("Parse of a file over the limit: %v", diags)
	}
	// Just under the limit: a list of 300,000 items.
	items := minimalPolicy + "daemon {\n  timezone = [" + strings.Repeat("1,", (MaxPolicyFile-len(minimalPolicy)-64)/2) + "]\n}\n"
	_, diags, out := parseBounded(t, []byte(items), "items.hcl", 60*time.Second)
	if len(errorsOf(diags)) != 1 || !strings.Contains(out, "timezone must be a string") {
		t.Fatalf("%s", cut(out, 2000))
	}
}

// TestLongValuesCut: a 900 KB value printed 1.8 MB of error (the line as
// snippet, the value again in the detail); now both are cut around the
// subject.
func TestLongValuesCut(t *testing.T) {
	long := strings.Repeat("Asia/", 180000)
	for _, tc := range []struct{ name, src, want string }{
		{"one line", minimalPolicy + "daemon {\n  timezone = \"" + long + "\"\n}\n", "is not a known time zone"},
		{"label", minimalPolicy + "database \"" + long + "\" {\n  engine = \"postgres\"\n  dsn = \"postgres://u@h/d\"\n  policy = \"p\"\n}\n", "a database name is one segment"},
		{"many lines", minimalPolicy + "daemon {\n  timezone = <<EOT\n" + strings.Repeat("Asia/\n", 900) + "EOT\n}\n", "is not a known time zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags, out := parseBounded(t, []byte(tc.src), "long.hcl", 20*time.Second)
			if len(errorsOf(diags)) != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("%s", cut(out, 3000))
			}
			if len(out) > 3000 || !strings.Contains(out, "…") {
				t.Errorf("printed %d bytes:\n%s", len(out), cut(out, 3000))
			}
			if len(diags.Error()) > 3000 {
				t.Errorf("the diagnostics' text is %d bytes", len(diags.Error()))
			}
		})
	}
	// Cutting values leaves the lists a message gives whole.
	if _, diags := Load("testdata/bad/bad_event.hcl"); !strings.Contains(diags.Error(), fmt.Sprintf(`%q, %q. Did you mean "backup_failed"?`, Events[len(Events)-2], Events[len(Events)-1])) {
		t.Errorf("the list of events is cut: %v", diags)
	}
	// A short line is shown whole, highlighted as before.
	_, _, out := parseBounded(t, []byte(minimalPolicy+"daemon {\n  timezone = \"Asia/Beijing\"\n}\n"), "short.hcl", 10*time.Second)
	if !strings.Contains(out, "  20:   timezone = \"Asia/Beijing\"\n") {
		t.Errorf("%s", out)
	}
}

// TestSecretMaskFixedWidth: a literal secret shows as the same mask whatever
// its length; it used to be one '*' per character.
func TestSecretMaskFixedWidth(t *testing.T) {
	for _, pw := range []string{"x", "12345678", strings.Repeat("Long-Secret-", 20)} {
		src := strings.Replace(minimalPolicy, `env("DBOPS_TEST_UNSET_PASSPHRASE")`, fmt.Sprintf("%q", pw), 1)
		src = strings.Replace(src, "postgres://dbops@127.0.0.1", "postgres://dbops:"+pw+"@127.0.0.1", 1)
		_, diags, out := parseBounded(t, []byte(src), "mask.hcl", 10*time.Second)
		if !diags.HasErrors() {
			t.Fatalf("the DSN password is not refused:\n%s", out)
		}
		if want := `  passphrase = "********"`; !strings.Contains(out, want) {
			t.Errorf("length %d: %q missing:\n%s", len(pw), want, out)
		}
		if want := `"postgres://dbops:********`; !strings.Contains(out, want) {
			t.Errorf("length %d: %q missing:\n%s", len(pw), want, out)
		}
		if regexp.MustCompile(`\*{9}`).MatchString(out) || (len(pw) > 1 && strings.Contains(out, pw)) {
			t.Errorf("length %d: the mask tells the length or the secret:\n%s", len(pw), out)
		}
	}
}

// TestSourcedValuesNotShown: a value from env() or file() in a setting that
// is not a secret is named by its source in every error about it, never
// shown, whichever check reports it.
func TestSourcedValuesNotShown(t *testing.T) {
	const value = "Zq7-Leaky-Env-Value"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte("root:x:0:0:"+value+":/root:/bin/bash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DBOPS_TEST_LEAK", value)
	t.Setenv("DBOPS_TEST_LEAK_DSN", "postgres://dbops@10.1.1.1:"+value+"/queue")
	t.Setenv("DBOPS_TEST_LEAK_LISTEN", value+"-no-port")
	for _, tc := range []struct{ name, src, want string }{
		{"timezone", `daemon { timezone = env("DBOPS_TEST_LEAK") }`, `timezone (the value of env("DBOPS_TEST_LEAK")) is not a known time zone`},
		{"template around file()", `daemon { timezone = "${file("passwd")}" }`, `timezone (the value of file("passwd")) is not`},
		{"text around env()", `daemon { timezone = "Asia/${env("DBOPS_TEST_LEAK")}" }`, `timezone (the value of timezone = "Asia/${env("DBOPS_TEST_LEAK")}") is not`},
		{"error quoting the value", `daemon { http_listen = env("DBOPS_TEST_LEAK_LISTEN") }`, `http_listen must be host:port (e.g. "127.0.0.1:9187"): the reason is not shown, since it may quote the value of http_listen = env("DBOPS_TEST_LEAK_LISTEN")`},
		{"DSN", `database "x" {
  engine = "postgres"
  dsn    = env("DBOPS_TEST_LEAK_DSN")
  policy = "p"
}`, "Invalid DSN"},
		{"bucket", `storage "b" {
  type   = "s3"
  endpoint = "h:9000"
  bucket = env("DBOPS_TEST_LEAK")
}`, `storage "b": (the value of env("DBOPS_TEST_LEAK")) is not a valid bucket name`},
		{"list element", `notify "n" {
  type   = "webhook"
  url    = "https://h/x"
  events = ["backup_failed", env("DBOPS_TEST_LEAK")]
}`, `event (the value of env("DBOPS_TEST_LEAK")) is not one of`},
		{"reference", `policy "q" {
  verify_target = env("DBOPS_TEST_LEAK")
}`, `restore_target (the value of env("DBOPS_TEST_LEAK")) is not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags, out := parseBounded(t, []byte(minimalPolicy+tc.src+"\n"), filepath.Join(dir, "leak.hcl"), 10*time.Second)
			if !diags.HasErrors() || !strings.Contains(out, tc.want) {
				t.Errorf("want %q:\n%s", tc.want, out)
			}
			for _, s := range []string{out, diags.Error()} {
				if strings.Contains(s, value) {
					t.Errorf("the value appears:\n%s", s)
				}
			}
		})
	}
}

// TestManyDiagnostics: a file with thousands of mistakes reports the first
// hundred and how many more, not megabytes.
func TestManyDiagnostics(t *testing.T) {
	src := minimalPolicy + "daemon {\n" + strings.Repeat("  timezone = \"Nowhere\"\n", 20000) + "}\n"
	_, diags, out := parseBounded(t, []byte(src), "many.hcl", 20*time.Second)
	if len(diags) != maxDiagnostics+1 || !strings.Contains(out, "19899 more errors and warnings are not shown") {
		t.Fatalf("%d diagnostics:\n%s", len(diags), cut(out, 2000))
	}
	if len(out) > 100*1000 {
		t.Errorf("printed %d bytes", len(out))
	}
}
