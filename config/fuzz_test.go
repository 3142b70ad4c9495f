package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary policy files to the loader. Whatever the input,
// Parse must return (no panic: Parse turns one into an error, which the
// target treats as a failure; no stack overflow, which would end the
// fuzzer), within a few seconds, with printed diagnostics of bounded size,
// and no diagnostic may show a value that came from env() or file().
//
// CI runs it briefly: go test -run=^$ -fuzz=FuzzLoad -fuzztime=30s ./config/
func FuzzLoad(f *testing.F) {
	const envSecret, fileSecret = "Fz9-Env-Secret-Qv7", "Fz9-File-Secret-Wx2"
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(fileSecret+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Setenv("DBOPS_FUZZ_SECRET", envSecret)

	for _, glob := range []string{"testdata/good/*.hcl", "testdata/bad/*.hcl"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	// Small seeds: the fuzzer mutates slowly over large ones, and each
	// already passes the limit it is there for (the deep and long cases
	// that used to crash are in TestHostileNesting).
	rep := strings.Repeat
	for _, s := range []string{
		minimalPolicy,
		"daemon {\n  timezone = " + rep("[", 200) + rep("]", 200) + "\n}\n",
		"x = " + rep("(", 200) + "1" + rep(")", 200),
		"x = " + rep("- ", 200) + "1",
		"x = " + rep("true ? 1 : ", 100) + "1",
		"x = \"" + rep("${\"", 100) + rep("\"}", 100) + "\"",
		"x = \"" + rep("%{if true}", 100) + rep("%{endif}", 100) + "\"",
		"x = <<EOT\n" + rep("line\n", 1100) + "EOT\n",
		"daemon {\n  timezone = \"" + rep("x", 20000) + "\"\n}\n",
		minimalPolicy + "daemon {\n  timezone = env(\"DBOPS_FUZZ_SECRET\")\n}\n",
		minimalPolicy + "daemon {\n  http_listen = \"${env(\"DBOPS_FUZZ_SECRET\")}:x\"\n}\n",
		minimalPolicy + "daemon {\n  timezone = file(\"secret\")\n}\n",
		minimalPolicy + "database \"d\" {\n  engine = \"postgres\"\n  dsn = \"${file(\"secret\")}\"\n  policy = \"p\"\n}\n",
		minimalPolicy + "database \"../x\" {\n  engine = \"postgres\"\n  dsn = \"postgres://u@h/d\"\n  policy = \"p\"\n}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		_, diags := Parse(src, filepath.Join(dir, "fuzz.hcl"))
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("Parse of %d bytes took %v", len(src), took)
		}
		var out bytes.Buffer
		if err := PrintDiagnostics(&out, diags); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "the policy loader failed on this input") {
			t.Fatalf("Parse panicked:\n%s", out.String())
		}
		if limit := 64*1024 + 8*len(src); out.Len() > limit {
			t.Fatalf("%d bytes of diagnostics for %d bytes of input", out.Len(), len(src))
		}
		for _, secret := range []string{envSecret, fileSecret} {
			if bytes.Contains(src, []byte(secret)) {
				continue // written in the file: shown like any text
			}
			for _, s := range []string{out.String(), diags.Error()} {
				if strings.Contains(s, secret) {
					t.Fatalf("a value from env() or file() is shown:\n%s", s)
				}
			}
		}
	})
}
