package site_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

// jobsPolicy has one policy that sets parallel and one that does not, a
// PostgreSQL and a MariaDB database, and a scratch target for each engine.
func jobsPolicy(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("SITE_JOBS_PASS", "site jobs test passphrase")
	src := fmt.Sprintf(`daemon {
  state_dir  = %q
  timezone   = "UTC"
  pg_bin_dir = "/opt/pg/bin"
}
storage "repo" {
  type = "local"
  path = %q
}
repository {
  storage    = "repo"
  passphrase = env("SITE_JOBS_PASS")
}
policy "wide" {
  full                   = "monthly"
  differential           = "weekly"
  parallel               = 6
  differential_max_ratio = 0.4
  verify_target          = "scratch-pg"
}
policy "plain" {
  full = "monthly"
}
restore_target "scratch-pg" {
  engine  = "postgres"
  dsn     = "postgres://dbops@127.0.0.1:1/postgres?sslmode=disable"
  scratch = true
}
restore_target "scratch-maria" {
  engine  = "mariadb"
  dsn     = "dbops@tcp(127.0.0.1:1)/"
  scratch = true
}
database "queue" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:1/queue?sslmode=disable"
  policy = "wide"
}
database "kiosk" {
  engine = "mariadb"
  dsn    = "dbops@tcp(127.0.0.1:1)/kiosk"
  policy = "plain"
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"))
	path := filepath.Join(dir, "dbopsd.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("test policy: %v", diags)
	}
	return cfg
}

// TestJobsFromThePolicy: every kind of job takes its engine, connection
// and parallelism from the policy in the same way, a --parallel override
// wins, and what cannot work is refused before anything runs.
func TestJobsFromThePolicy(t *testing.T) {
	cfg := jobsPolicy(t)
	queue, kiosk := cfg.Databases["queue"], cfg.Databases["kiosk"]
	run := site.Run{Repo: &repository.Repo{}, Trigger: "cli", OSUser: "dba"}

	for _, c := range []struct {
		db       *config.Database
		override int
		want     int
	}{{queue, 0, 6}, {queue, 3, 3}, {kiosk, 0, config.DefaultPolicyParallel}, {kiosk, 5, 5}} {
		t.Run(fmt.Sprintf("%s/%d", c.db.Name, c.override), func(t *testing.T) {
			r := run
			r.Parallel = c.override
			if got := site.Parallel(cfg, c.db, c.override); got != c.want {
				t.Errorf("Parallel = %d, want %d", got, c.want)
			}
			job, err := site.BackupJob(cfg, c.db, repository.Full, r)
			if err != nil || job.Parallel != c.want || job.Database != c.db.Name || job.Trigger != "cli" || job.OSUser != "dba" {
				t.Errorf("BackupJob: %+v %v", job, err)
			}
			target := cfg.RestoreTargets["scratch-pg"]
			if c.db == kiosk {
				target = cfg.RestoreTargets["scratch-maria"]
			}
			req, err := site.RestoreRequest(cfg, c.db, target, "B1", r)
			if err != nil || req.Parallel != c.want || req.BackupID != "B1" || req.Target.Name != target.Name || !req.Target.Scratch {
				t.Errorf("RestoreRequest: %+v %v", req, err)
			}
		})
	}

	job, err := site.BackupJob(cfg, queue, repository.Differential, run)
	if err != nil || job.Engine.Name() != "postgres" || job.MaxDiffRatio != 0.4 || job.Conn.BinDir != "/opt/pg/bin" || job.Type != repository.Differential {
		t.Errorf("BackupJob of queue: %+v %v", job, err)
	}
	v, err := site.VerifyRequest(cfg, queue, nil, "", run)
	if err != nil || v.Target.Name != "scratch-pg" || v.Parallel != 6 {
		t.Errorf("VerifyRequest on the policy's verify_target: %+v %v", v, err)
	}

	for name, f := range map[string]func() error{
		"restore onto another engine": func() error {
			_, err := site.RestoreRequest(cfg, queue, cfg.RestoreTargets["scratch-maria"], "", run)
			return err
		},
		"verify without a verify_target": func() error {
			_, err := site.VerifyRequest(cfg, kiosk, nil, "", run)
			return err
		},
		"backup without a repository": func() error {
			_, err := site.BackupJob(cfg, queue, repository.Full, site.Run{})
			return err
		},
		"restore without a repository": func() error {
			_, err := site.RestoreRequest(cfg, queue, cfg.RestoreTargets["scratch-pg"], "", site.Run{})
			return err
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(name, "engine") && !strings.Contains(err.Error(), "scratch-maria") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
