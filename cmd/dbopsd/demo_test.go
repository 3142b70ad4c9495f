package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDemo runs `make demo`'s script with a freshly built dbopsd and reads
// it as a new user would (issue 17 item 15): numbered steps, one line of
// result per step rather than log lines, a drill report left in the demo
// directory and a closing summary that does not claim restored databases
// still exist.
func TestDemo(t *testing.T) {
	bin := buildDbopsd(t)
	// The scripts run from a copy in a directory only its owner may enter,
	// as a clone in root's home is: run as root, the demo starts the
	// servers as postgres, which must not start by complaining that it
	// cannot enter the working directory.
	tree := t.TempDir()
	if err := os.CopyFS(filepath.Join(tree, "scripts"), os.DirFS("../../scripts")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tree, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tree, "demo-out")
	cmd := exec.Command("bash", filepath.Join(tree, "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "DBOPSD="+bin, "DEMO_DIR="+dir)
	raw, err := cmd.CombinedOutput()
	out := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(string(raw), "")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, bad := range []string{"could not change directory", "[INFO]", "[WARN]", "level="} {
		if strings.Contains(out, bad) {
			t.Errorf("the demo prints %q:\n%s", bad, out)
		}
	}
	steps := regexp.MustCompile(`(?m)^(\d+)\. `).FindAllStringSubmatch(out, -1)
	for i, s := range steps {
		if s[1] != strconv.Itoa(i+1) {
			t.Fatalf("step %d is numbered %s:\n%s", i+1, s[1], out)
		}
	}
	if len(steps) < 12 {
		t.Errorf("%d numbered steps:\n%s", len(steps), out)
	}
	for _, want := range []string{
		"A day at the service hall\n   6000 new queue tickets,",
		"MariaDB: back up rating in full",
		": PASSED",
		"of the full\n",
		"recovery time (RTO) measured: the drill restored it in ",
		"went with them",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "restored:      databases") {
		t.Errorf("the summary names restored databases as if they still existed:\n%s", out)
	}
	for _, f := range []string{"drill-report.html", "drill-report.en.html", "dbopsd.hcl", "dbopsd.log", "state/catalog.db"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("demo-out/%s: %v", f, err)
		}
	}
	if page, _ := os.ReadFile(filepath.Join(dir, "drill-report.html")); !strings.Contains(string(page), "灾难恢复演练报告") {
		t.Error("drill-report.html is not the drill report")
	}
}
