package diagnostics

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dbopsd/dbopsd/i18n"
)

var update = flag.Bool("update", false, "rewrite docs/checks/ from the catalog")

// TestCheckPages: docs/checks/ holds exactly the pages the catalog
// generates. Run with -update after changing a check's words.
func TestCheckPages(t *testing.T) {
	dir := filepath.Join("..", "docs", "checks")
	pages := Pages()
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		for _, f := range old {
			os.Remove(f)
		}
		for name, text := range pages {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, f := range files {
		if _, ok := pages[filepath.Base(f)]; !ok {
			t.Errorf("%s is no check's page: remove it (go test ./diagnostics -run TestCheckPages -update)", f)
		}
	}
	for name, want := range pages {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("docs/checks/%s is stale or missing: go test ./diagnostics -run TestCheckPages -update", name)
		}
	}
}

// TestCheckWords: every check has all its words in every language, a
// unique id, a link to its page and a priority in 1..250.
func TestCheckWords(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		if seen[c.ID] {
			t.Errorf("check %s twice", c.ID)
		}
		seen[c.ID] = true
		if c.Priority < 1 || c.Priority > 250 {
			t.Errorf("%s: priority %d", c.ID, c.Priority)
		}
		if !slices.Contains([]string{"daily", "monthly"}, c.Level) {
			t.Errorf("%s: level %q", c.ID, c.Level)
		}
		for _, l := range i18n.Langs() {
			for _, part := range []string{"title", "what", "why", "todo", "finding", "details"} {
				if _, ok := i18n.Lookup(l, "diagnostics.check."+c.ID+"."+part); !ok {
					t.Errorf("%s: no %s %s", c.ID, l, part)
				}
			}
			if _, ok := i18n.Lookup(l, "diagnostics.group."+c.Group); !ok {
				t.Errorf("%s: group %s has no %s name", c.ID, c.Group, l)
			}
		}
	}
	for _, k := range i18n.Keys(i18n.EN, "diagnostics.check.") {
		id := k[len("diagnostics.check."):]
		id = id[:len(id)-len(filepath.Ext(id))]
		if !seen[id] {
			t.Errorf("catalog key %s belongs to no check", k)
		}
	}
}
