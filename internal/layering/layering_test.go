package layering

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestLayering fails on any import that goes up a layer (ARCHITECTURE.md,
// "Layers"). It reads the imports of every package of the module, test
// files excluded: a test may import from above (an adapter's test runs
// internal/pipelinetest, which runs backup and restore).
func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", Module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			graph[f[0]] = f[1:]
		}
	}
	for _, pkg := range []string{"engines", "engines/enginetest", "storage", "repository", "backup", "restore", "site", "daemon", "cmd/dbopsd"} {
		if _, ok := graph[Module+"/"+pkg]; !ok {
			t.Fatalf("go list did not list %s: the check would see nothing", pkg)
		}
	}
	for _, e := range Check(graph, Rules) {
		t.Error(e)
	}
}

// TestCheckFindsUpwardImports: the rules catch the edges they exist for,
// including the one this package was written to remove.
func TestCheckFindsUpwardImports(t *testing.T) {
	m := func(rel string) string { return Module + "/" + rel }
	for _, tc := range []struct {
		from, to string
		bad      bool
	}{
		{"engines/enginetest", "backup", true},
		{"engines/enginetest", "restore", true},
		{"engines/enginetest", "repository", true},
		{"engines/postgres", "site", true},
		{"engines/mysql", "internal/fault", false},
		{"engines/postgres", "engines", false},
		{"storage/s3", "storage", false},
		{"storage", "repository", true},
		{"storage/local", "engines", true},
		{"repository", "catalog", true},
		{"repository", "storage", false},
		{"catalog", "repository", false},
		{"backup", "daemon", true},
		{"restore", "site", true},
		{"config", "repository", true},
		{"site", "daemon", true},
		{"site", "engines/postgres", false},
		{"engines/all", "engines/mysql", false},
		{"daemon", "engines/postgres", true},
		{"restore", "engines/mysql", true},
		{"daemon", "internal/harness", true},
		{"notify", "notify/notifytest", true},
		{"notify/notifytest", "internal/testca", false},
		{"internal/fault", "secret", true},
		{"secret", "internal/fault", true},
		{"internal/atomicfile", "internal/fault", true},
		{"cmd/dbopsd", "daemon", false},
		{"i18n", "secret", true},
		{"when", "i18n", true},
		{"internal/humanize", "internal/fault", true},
		{"config", "when", false},
		{"drill", "internal/humanize", false},
		{"backup", "config", true},
		{"restore", "config", true},
		{"mirror", "config", true},
		{"history", "config", true},
		{"prune", "config", false},
		{"drill", "config", false},
		{"drill", "site", true},
		{"schedule", "site", true},
		{"notify", "site", true},
		{"register", "site", true},
		{"request", "site", true},
		{"request/sshsig", "site", true},
		{"daemon", "site", false},
		{"reconcile", "catalog", true},
		{"reconcile", "config", true},
		{"reconcile", "engines", false},
		{"engines/postgres", "reconcile", false},
		{"site", "reconcile", false},
		{"engines/postgres", "maintenance", true},
		{"engines/postgres", "engines/maintmodel", false},
		{"maintenance", "site", true},
		{"site", "maintenance", false},
		{"engines/postgres", "dictionary", true},
		{"engines/postgres", "engines/dictmodel", false},
		{"engines/dictmodel", "engines", true},
		{"dictionary", "site", true},
		{"volume", "daemon", true},
		{"site", "volume", false},
		{"diagnostics", "site", true},
		{"diagnostics", "engines/postgres", true},
		{"diagnostics", "history", false},
		{"engines/diagmodel", "engines", true},
		{"engines/postgres", "diagnostics", true},
		{"engines/postgres", "engines/diagmodel", false},
		{"report", "dictionary", true},
		{"report/reporttest", "volume", true},
		{"site", "report", false},
		{"maintenance", "diagnostics", true},
		{"diagnostics", "maintenance", false},
	} {
		got := Check(map[string][]string{m(tc.from): {m(tc.to), "fmt"}}, Rules)
		if (len(got) > 0) != tc.bad {
			t.Errorf("%s -> %s: violations %q, want forbidden %v", tc.from, tc.to, got, tc.bad)
		}
	}
}
