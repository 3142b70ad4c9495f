package site

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
	"github.com/dbopsd/dbopsd/storage/s3"
)

// OpenStorage connects to the storage block named name.
func OpenStorage(ctx context.Context, cfg *config.Config, name string, logger hclog.Logger) (storage.Storage, error) {
	sc, ok := cfg.Storages[name]
	if !ok {
		return nil, fmt.Errorf("storage %q is not defined in %s", name, cfg.Path)
	}
	var st storage.Storage
	switch sc.Type {
	case "local":
		l, err := local.New(sc.Path)
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", name, err)
		}
		st = l
	case "s3":
		s, err := s3.New(ctx, s3.Options{
			Endpoint: sc.Endpoint, Bucket: sc.Bucket, Prefix: sc.Prefix, Region: sc.Region,
			AccessKey: sc.AccessKey.Reveal(), SecretKey: sc.SecretKey.Reveal(), UseTLS: sc.UseTLS, CAFile: sc.CAFile,
		})
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", name, err)
		}
		st = s
	default:
		return nil, fmt.Errorf("storage %q: unknown type %q", name, sc.Type)
	}
	return storage.WithRetry(st, 5, logger.Named("storage")), nil
}

// RepoStorageName is the storage the repository is read from: the
// repository's own storage, or override (a mirror) when set.
func RepoStorageName(cfg *config.Config, override string) (string, error) {
	return cfg.RepoStorage(override)
}

// OpenRepository opens the repository on its storage (or a mirror).
func OpenRepository(ctx context.Context, cfg *config.Config, storageOverride string, logger hclog.Logger) (*repository.Repo, error) {
	name, err := RepoStorageName(cfg, storageOverride)
	if err != nil {
		return nil, err
	}
	st, err := OpenStorage(ctx, cfg, name, logger)
	if err != nil {
		return nil, err
	}
	repo, err := repository.Open(ctx, st, cfg.Repository.Passphrase)
	if err != nil {
		return nil, explainPassphrase(cfg, err)
	}
	repo.SetLogger(logger.Named("repository"))
	return repo, nil
}

// InitRepository creates the repository on its storage.
func InitRepository(ctx context.Context, cfg *config.Config, logger hclog.Logger) (*repository.Repo, error) {
	st, err := OpenStorage(ctx, cfg, cfg.Repository.Storage, logger)
	if err != nil {
		return nil, err
	}
	repo, err := repository.Init(ctx, st, cfg.Repository.Passphrase)
	return repo, explainPassphrase(cfg, err)
}

// SourceConn is how to reach database db.
func SourceConn(cfg *config.Config, db *config.Database) engines.Conn {
	return engines.Conn{DSN: db.DSN, Password: db.Password, BinDir: binDir(cfg, db.Engine), BackupDir: db.BackupDir, BackupDirLocal: db.BackupDirLocal}
}

// TargetConn is how to reach restore target t.
func TargetConn(cfg *config.Config, t *config.RestoreTarget) engines.Conn {
	return engines.Conn{DSN: t.DSN, Password: t.Password, BinDir: binDir(cfg, t.Engine), BackupDir: t.BackupDir, BackupDirLocal: t.BackupDirLocal}
}

// binDir is where the engine's client tools live, from the daemon setting
// its registration names ("" for an engine without client tools: search).
func binDir(cfg *config.Config, engine string) string {
	r, ok := engines.Lookup(engine)
	if !ok || r.ToolDirSetting == "" {
		return ""
	}
	return cfg.Daemon.ToolDir(r.ToolDirSetting)
}

// RetainUntil is the object-lock date for objects of a new generation under
// policy p, or zero when the storage has no object lock.
func RetainUntil(cfg *config.Config, p *config.Policy, now time.Time) time.Time {
	sc := cfg.Storages[cfg.Repository.Storage]
	if sc == nil || !sc.ObjectLock || p == nil {
		return time.Time{}
	}
	// A generation lives until N newer fulls exist; with monthly fulls that
	// is N months. Tiered retention may keep it longer, which lock allows.
	months := p.Retention.Generations
	if p.Full == "quarterly" {
		months *= 3
	}
	if months < 1 {
		months = 1
	}
	return now.AddDate(0, months, 0)
}
