package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRepositoryDamageCommands is the fault suite of damage done to the
// repository from outside: deleted manifests (the newest included) are
// reported by list, check (also after a catalog rebuild) and restore; key
// files with hostile parameters, damaged or deleted key files, an unset
// passphrase variable and a changed config each get their own message.
func TestRepositoryDamageCommands(t *testing.T) {
	s := newOpsSite(t, opsConfig{databases: []string{"hall"}, fill: fillRows(2000)})
	s.ok("repo", "init")
	var ids []string
	for _, typ := range []string{"full", "differential", "differential"} {
		var b struct{ ID string }
		s.okJSON(&b, "backup", "--database", "hall", "--type", typ)
		ids = append(ids, b.ID)
		time.Sleep(2 * time.Millisecond)
	}
	l := s.list()
	manifest := func(i int) string {
		return filepath.Join(s.repoDir(), "manifests", "hall", l.Backups[i].Generation, l.Backups[i].ID)
	}
	fails := func(args ...string) (string, string) {
		t.Helper()
		out, errs, code := s.run(args...)
		if code == 0 {
			t.Fatalf("dbopsd %s succeeded:\n%s", strings.Join(args, " "), out)
		}
		return out, errs
	}
	deleted := func(i int, f func()) {
		t.Helper()
		saved, err := os.ReadFile(manifest(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(manifest(i)); err != nil {
			t.Fatal(err)
		}
		f()
		if err := os.WriteFile(manifest(i), saved, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	for i := range ids {
		t.Run(fmt.Sprintf("manifest %d of %d deleted", i+1, len(ids)), func(t *testing.T) {
			deleted(i, func() {
				out := s.ok("list")
				if !strings.Contains(out, "MISSING: backup "+ids[i]) {
					t.Errorf("list does not report the missing backup %s:\n%s", ids[i], out)
				}
				var j struct {
					Missing []struct{ ID string } `json:"missing"`
				}
				if err := json.Unmarshal([]byte(s.ok("list", "--json")), &j); err != nil || len(j.Missing) != 1 || j.Missing[0].ID != ids[i] {
					t.Errorf("list --json: missing %+v %v", j.Missing, err)
				}
				t.Logf("list:\n%s", out)
				out, _ = fails("check")
				t.Logf("check:\n%s", out)
				if !strings.Contains(out, "manifest is missing") || !strings.Contains(out, ids[i]) {
					t.Errorf("check:\n%s", out)
				}
				s.ok("catalog", "rebuild")
				out, _ = fails("check")
				if !strings.Contains(out, ids[i]) {
					t.Errorf("check after catalog rebuild:\n%s", out)
				}
			})
			s.ok("check")
			if out := s.ok("list"); strings.Contains(out, "MISSING") {
				t.Errorf("list after the manifest is back:\n%s", out)
			}
		})
	}

	t.Run("newest deleted: restore says so", func(t *testing.T) {
		deleted(len(ids)-1, func() {
			as := fmt.Sprintf("damage_restored_%d", opsSeq.Add(1))
			t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+as+" WITH (FORCE)") })
			out, errs, code := s.run("restore", "--database", "hall", "--target", "scratch", "--as", as)
			t.Logf("restore: %s", errs)
			if code != 0 || !strings.Contains(errs, ids[len(ids)-1]) || !strings.Contains(errs, "missing") {
				t.Errorf("restore of the newest with it deleted: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
		})
	})

	keyFile := func() string {
		ents, err := os.ReadDir(filepath.Join(s.repoDir(), "keys"))
		if err != nil || len(ents) != 1 {
			t.Fatalf("keys: %v %v", ents, err)
		}
		return filepath.Join(s.repoDir(), "keys", ents[0].Name())
	}
	changed := func(path string, change func([]byte) []byte, f func()) {
		t.Helper()
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if change == nil {
			err = os.Remove(path)
		} else {
			err = os.WriteFile(path, change(append([]byte(nil), saved...)), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		f()
		if err := os.WriteFile(path, saved, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setN := func(n int) func([]byte) []byte {
		return func(b []byte) []byte {
			var k map[string]any
			if err := json.Unmarshal(b, &k); err != nil {
				t.Fatal(err)
			}
			k["n"] = n
			delete(k, "check")
			out, _ := json.Marshal(k)
			return out
		}
	}
	flipAt := func(at float64) func([]byte) []byte {
		return func(b []byte) []byte { b[int(float64(len(b))*at)] ^= 1; return b }
	}
	messages := []struct {
		name, want, not string
		setup           func(f func())
	}{
		{"key with n=2^30", "damaged key file keys/", "wrong passphrase", func(f func()) { changed(keyFile(), setN(1<<30), f) }},
		{"key with a flipped byte", "damaged key file keys/", "wrong passphrase", func(f func()) { changed(keyFile(), flipAt(0.6), f) }},
		{"key deleted", "no key file under keys/", "wrong passphrase", func(f func()) { changed(keyFile(), nil, f) }},
		{"config with a flipped byte", "config", "wrong passphrase", func(f func()) {
			changed(filepath.Join(s.repoDir(), "config"), func(b []byte) []byte {
				i := strings.Index(string(b), `"id": "`) + 9
				b[i] ^= 1
				return b
			}, f)
		}},
		{"passphrase variable unset", `env("OPS_REPO_PASS")`, "wrong passphrase", func(f func()) {
			t.Setenv("OPS_REPO_PASS", "")
			os.Unsetenv("OPS_REPO_PASS")
			f()
			os.Setenv("OPS_REPO_PASS", opsPassphrase)
		}},
		{"wrong passphrase", "wrong passphrase", "damaged", func(f func()) {
			t.Setenv("OPS_REPO_PASS", "not it")
			f()
			os.Setenv("OPS_REPO_PASS", opsPassphrase)
		}},
	}
	for _, m := range messages {
		t.Run(m.name, func(t *testing.T) {
			m.setup(func() {
				start := time.Now()
				for _, cmd := range [][]string{{"list"}, {"check"}} {
					_, errs := fails(cmd...)
					t.Logf("%s: %s", cmd[0], strings.TrimSpace(errs))
					if !strings.Contains(errs, m.want) || strings.Contains(errs, m.not) {
						t.Errorf("%s: want %q, not %q:\n%s", cmd[0], m.want, m.not, errs)
					}
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("the commands took %s", d)
				}
			})
			s.ok("list")
		})
	}
}
