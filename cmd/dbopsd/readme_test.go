package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeExample is a command shown in README.md with what it prints.
type readmeExample struct {
	line int // of the command in README.md
	args []string
	want string
}

// readmeExamples extracts the `$ dbopsd config validate` examples from the
// README's code blocks: the command, then its output up to the next
// command or the end of the block.
func readmeExamples(t *testing.T, readme string) []readmeExample {
	t.Helper()
	var out []readmeExample
	var cur *readmeExample
	inBlock := false
	flush := func() {
		if cur != nil {
			cur.want = strings.TrimRight(cur.want, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		}
	}
	for i, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			flush()
			inBlock = !inBlock
		case !inBlock:
		case strings.HasPrefix(line, "$ "):
			flush()
			if rest, ok := strings.CutPrefix(line, "$ dbopsd config validate"); ok {
				cur = &readmeExample{line: i + 1, args: append([]string{"config", "validate"}, strings.Fields(rest)...)}
			}
		case cur != nil:
			cur.want += line + "\n"
		}
	}
	return out
}

// TestREADMEExamples runs the README's `config validate` examples and
// compares what they print (issue 17 item 19). The one without --config
// reads the default path, /etc/dbopsd/config.hcl, which the README says is
// the sample with the queue database's policy misspelt "standrad".
func TestREADMEExamples(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeExamples(t, string(raw))
	if len(examples) < 2 {
		t.Fatalf("%d config validate examples in README.md, want the valid and the invalid one", len(examples))
	}
	sample, err := os.ReadFile("../../config.hcl")
	if err != nil {
		t.Fatal(err)
	}
	queuePolicy := regexp.MustCompile(`(?s)(database "queue" \{[^}]*?policy\s*=\s*)"[^"]*"`)
	if !queuePolicy.Match(sample) {
		t.Fatal(`config.hcl has no database "queue" with a policy`)
	}
	installed := filepath.Join(t.TempDir(), "config.hcl")
	if err := os.WriteFile(installed, queuePolicy.ReplaceAll(sample, []byte(`${1}"standrad"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..") // the README's commands run in the source tree
	for _, ex := range examples {
		t.Run(strings.Join(ex.args, " "), func(t *testing.T) {
			args := ex.args
			if !strings.Contains(strings.Join(args, " "), "--config") {
				t.Setenv("DBOPS_CONFIG", installed)
			}
			out, errs, code := runCLI(args...)
			got := strings.ReplaceAll(errs+out, installed, "/etc/dbopsd/config.hcl")
			if got != ex.want {
				t.Errorf("README.md line %d: dbopsd %s (exit %d) prints\n%s\nthe README says\n%s", ex.line, strings.Join(args, " "), code, got, ex.want)
			}
			if wantOK := strings.Contains(ex.want, ": valid ("); (code == 0) != wantOK {
				t.Errorf("exit %d", code)
			}
		})
	}
}

// TestMakeDemoInstallsOnlyWhatItRuns: `make demo` does not install
// Chromium, its fonts or MinIO, which only the tests use (issue 17 item
// 14); `make test` still does. make -n prints the recipes without running
// them.
func TestMakeDemoInstallsOnlyWhatItRuns(t *testing.T) {
	recipes := func(target string) string {
		t.Helper()
		cmd := exec.Command("make", "-n", "-C", "../..", target)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	demo, test := recipes("demo"), recipes("test")
	for _, tool := range []string{"chromium", "fonts-noto-cjk", "minio"} {
		if strings.Contains(demo, tool) {
			t.Errorf("make demo installs %s, which the demo does not use", tool)
		}
		if !strings.Contains(test, tool) {
			t.Errorf("make test no longer installs %s", tool)
		}
	}
	// What the demo runs: PostgreSQL, MariaDB and ssh-keygen (the drill's
	// signers).
	for _, tool := range []string{"initdb", "mariadbd", "ssh-keygen", "scripts/demo.sh"} {
		if !strings.Contains(demo, tool) {
			t.Errorf("make demo does not check for %s", tool)
		}
	}
}
