package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/mirror"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

// Pruner applies the policy's retention to the repository.
type Pruner interface {
	Prune(ctx context.Context, env *Env, trigger, osUser string) error
}

// Mirrorer copies the repository to its mirrors.
type Mirrorer interface {
	Mirror(ctx context.Context, env *Env, trigger, osUser string) error
}

// repoPrune is the daily prune: repository.Prune with the policies'
// retention and the catalog's verification results, recorded as a "prune"
// job. It does what `dbopsd prune` does.
type repoPrune struct{}

func (repoPrune) Prune(ctx context.Context, env *Env, trigger, osUser string) error {
	cfg := env.Config
	repo, err := env.OpenRepo(ctx)
	if err != nil {
		return recordPlain(ctx, env, "prune", trigger, osUser, fmt.Errorf("prune: %w", err))
	}
	// Verification results live in the catalog: bring it up to date first.
	if _, err := env.Catalog.Sync(ctx, repo, ""); err != nil {
		return recordPlain(ctx, env, "prune", trigger, osUser, fmt.Errorf("prune: %w", err))
	}
	bs, err := env.Catalog.Backups(ctx, "")
	if err != nil {
		return recordPlain(ctx, env, "prune", trigger, osUser, fmt.Errorf("prune: %w", err))
	}
	verified := map[string]bool{}
	for _, b := range bs {
		if b.VerifyStatus == catalog.StatusOK {
			verified[b.ID] = true
		}
	}
	policies := map[string]repository.RetentionPolicy{}
	for name, db := range cfg.Databases {
		if p := cfg.PolicyFor(db); p != nil {
			r := p.Retention
			policies[name] = repository.RetentionPolicy{Generations: r.Generations, Monthly: r.Monthly, Quarterly: r.Quarterly, Yearly: r.Yearly}
		}
	}
	id, err := env.Catalog.StartJob(ctx, catalog.Job{Kind: "prune", Trigger: trigger, OSUser: osUser})
	if err != nil {
		return err
	}
	res, err := repo.Prune(ctx, repository.PruneOptions{Policies: policies, Verified: verified, Location: cfg.Daemon.Location})
	if err == nil {
		_, err = env.Catalog.Sync(ctx, repo, "")
	}
	if err == nil && res.Failed() {
		err = errors.New("prune: some expired objects could not be deleted")
	}
	var bytes int64
	details := map[string]any{}
	if res != nil {
		bytes = res.DeletedBytes
		details["deleted_backups"], details["deleted_objects"] = res.DeletedBackups, res.DeletedObjects
	}
	if ferr := env.Catalog.FinishJob(context.WithoutCancel(ctx), id, "", bytes, err, details); ferr != nil && err == nil {
		err = ferr
	}
	return err
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
