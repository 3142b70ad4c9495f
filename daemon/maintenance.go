package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/mirror"
	"github.com/dbopsd/dbopsd/prune"
	"github.com/dbopsd/dbopsd/site"
)

// Pruner applies the policy's retention to the repository and its mirrors.
type Pruner interface {
	Prune(ctx context.Context, env *Env, trigger, osUser string) error
}

// Mirrorer copies the repository to its mirrors.
type Mirrorer interface {
	Mirror(ctx context.Context, env *Env, trigger, osUser string) error
}

// repoPrune is the daily prune, through prune.Run as `dbopsd prune` does
// it: the policies' retention applied to the repository's storage and then
// to each mirror's own manifests, with the catalog's verification results,
// each storage recorded as a "prune" job. A mirror that fails does not stop
// the others; the error joins every storage's.
type repoPrune struct{}

func (repoPrune) Prune(ctx context.Context, env *Env, trigger, osUser string) error {
	_, err := site.Prune(ctx, env.Config, env.Catalog, prune.Options{Trigger: trigger, OSUser: osUser, Logger: env.Logger})
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return nil
}

// repoMirror copies the repository to every mirror of the policy, each
// recorded as a "mirror" job by mirror.Run.
type repoMirror struct{}

func (repoMirror) Mirror(ctx context.Context, env *Env, trigger, osUser string) error {
	cfg := env.Config
	if len(cfg.Repository.Mirrors) == 0 {
		return nil
	}
	repo, err := env.OpenRepo(ctx)
	if err != nil {
		return recordPlain(ctx, env, "mirror", trigger, osUser, fmt.Errorf("mirror: %w", err))
	}
	var errs []error
	for _, name := range cfg.Repository.Mirrors {
		st, err := site.OpenStorage(ctx, cfg, name, env.Logger)
		if err != nil {
			errs = append(errs, recordPlain(ctx, env, "mirror", trigger, osUser, fmt.Errorf("mirror %s: %w", name, err)))
			continue
		}
		if _, err := mirror.Run(ctx, mirror.Options{
			Primary: repo, Mirror: st, Name: name, Passphrase: cfg.Repository.Passphrase,
			ObjectLock: cfg.Storages[name].ObjectLock, Catalog: env.Catalog, Trigger: trigger, OSUser: osUser,
			Logger: env.Logger,
		}); err != nil {
			errs = append(errs, fmt.Errorf("mirror %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// recordPlain records a site-wide job that failed before it started.
func recordPlain(ctx context.Context, env *Env, kind, trigger, osUser string, err error) error {
	if _, rerr := env.Catalog.RecordJob(context.WithoutCancel(ctx), catalog.Job{Kind: kind, Trigger: trigger, OSUser: osUser}, err); rerr != nil {
		env.Logger.Error("recording a failed job in the catalog failed", "job", kind, "error", rerr)
	}
	return err
}
