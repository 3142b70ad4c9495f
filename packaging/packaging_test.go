package packaging

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/config"
	_ "github.com/dbopsd/dbopsd/engines/all" // config validates engines through their registrations
)

// copyTree copies src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSampleConfigValidates loads etc/dbopsd/config.hcl with every secret
// file it names present, as on an installed host.
func TestSampleConfigValidates(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "etc/dbopsd", dir)
	src, err := os.ReadFile(filepath.Join(dir, "config.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := regexp.MustCompile(`file\("(secrets/[^"]+)"\)`).FindAllStringSubmatch(string(src), -1)
	if len(secrets) == 0 {
		t.Fatal("the sample reads no secret files")
	}
	for _, m := range secrets {
		if err := os.WriteFile(filepath.Join(dir, m[1]), []byte("not-a-real-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Every secret the sample reads is listed in secrets/README.
		readme, _ := os.ReadFile("etc/dbopsd/secrets/README")
		name := strings.TrimPrefix(m[1], "secrets/")
		if !strings.Contains(string(readme), name) && !strings.HasSuffix(name, ".pass") {
			t.Errorf("secrets/README does not mention %s", name)
		}
	}
	cfg, diags := config.Load(filepath.Join(dir, "config.hcl"))
	for _, d := range diags {
		t.Logf("%v: %s: %s", d.Severity, d.Summary, d.Detail)
	}
	if diags.HasErrors() {
		t.Fatal("the sample policy does not validate")
	}
	unit := readUnit(t)
	if got := cfg.Daemon.StateDir; got != "/var/lib/"+unit["StateDirectory"][0] {
		t.Errorf("daemon.state_dir %s is not the unit's StateDirectory=%v", got, unit["StateDirectory"])
	}
	if got := filepath.Dir(cfg.Daemon.Socket); got != "/run/"+unit["RuntimeDirectory"][0] {
		t.Errorf("daemon.socket %s is not in the unit's RuntimeDirectory=%v", cfg.Daemon.Socket, unit["RuntimeDirectory"])
	}
	for _, s := range cfg.Storages {
		// A local storage must be writable: listed in ReadWritePaths=, or
		// in the comment that tells the operator to list it.
		if s.Type == "local" && !strings.Contains(readRaw(t), s.Path) {
			t.Errorf("local storage %s (%s) is not mentioned in ReadWritePaths= of the unit", s.Name, s.Path)
		}
	}
}

func readRaw(t *testing.T) string {
	b, err := os.ReadFile("systemd/dbopsd.service")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readUnit parses the unit: every key's values.
func readUnit(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("systemd/dbopsd.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("unit line %q is not key=value", line)
		}
		u[k] = append(u[k], v)
	}
	return u
}

func TestUnitHardening(t *testing.T) {
	u := readUnit(t)
	want := map[string]string{
		"Type": "notify", "User": "dbopsd", "Group": "dbopsd", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
		"RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes", "UMask": "0077", "KillSignal": "SIGTERM",
		"StateDirectoryMode": "0700", "RuntimeDirectory": "dbopsd", "StateDirectory": "dbopsd",
		"ExecReload": "/bin/kill -HUP $MAINPID",
	}
	for k, v := range want {
		if len(u[k]) == 0 || u[k][0] != v {
			t.Errorf("%s=%v, want %s", k, u[k], v)
		}
	}
	// systemd must wait longer than the drain.
	m := regexp.MustCompile(`--drain-timeout (\S+)`).FindStringSubmatch(u["ExecStart"][0])
	if m == nil {
		t.Fatal("ExecStart has no --drain-timeout")
	}
	drain, err := time.ParseDuration(m[1]) // as the agent parses --drain-timeout
	if err != nil {
		t.Fatal(err)
	}
	stop, err := time.ParseDuration(strings.Replace(u["TimeoutStopSec"][0], "min", "m", 1))
	if err != nil || stop <= drain {
		t.Errorf("TimeoutStopSec=%s must exceed the drain timeout %s", u["TimeoutStopSec"][0], drain)
	}
	if !strings.HasPrefix(u["ExecStartPre"][0], "/usr/bin/dbopsd config validate") {
		t.Errorf("ExecStartPre=%v", u["ExecStartPre"])
	}
}
