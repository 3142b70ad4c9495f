package site

import (
	"context"
	"errors"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/repository"
)

// ErrPruneIncomplete says some expired objects could not be deleted (the
// result lists them, e.g. under object lock).
var ErrPruneIncomplete = errors.New("some expired objects could not be deleted")

// prune does the work of Prune, without the job record.
func prune(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, repo *repository.Repo, opts repository.PruneOptions) (*repository.PruneResult, error) {
	if _, err := cat.Sync(ctx, repo, opts.Database); err != nil {
		return nil, err
	}
	bs, err := cat.Backups(ctx, opts.Database)
	if err != nil {
		return nil, err
	}
	opts.Verified = map[string]bool{}
	for _, b := range bs {
		if b.VerifyStatus == catalog.StatusOK {
			opts.Verified[b.ID] = true
		}
	}
	opts.Policies = map[string]repository.RetentionPolicy{}
	for name, db := range cfg.Databases {
		if p := cfg.PolicyFor(db); p != nil {
			r := p.Retention
			opts.Policies[name] = repository.RetentionPolicy{Generations: r.Generations, Monthly: r.Monthly, Quarterly: r.Quarterly, Yearly: r.Yearly}
		}
	}
	opts.Location = cfg.Daemon.Location

	res, err := repo.Prune(ctx, opts)
	if err == nil && !opts.DryRun {
		// The catalog lists what is in the repository: drop what went.
		_, err = cat.Sync(ctx, repo, opts.Database)
	}
	return res, err
}

// Prune applies the retention of every policy to repo: it brings the
// catalog up to date (verification results live there), never deletes the
// generation of a verified backup, and syncs the catalog afterwards. Every
// attempt except a dry run is recorded as a "prune" job; when some expired
// objects could not be deleted (object lock), the job failed with
// ErrPruneIncomplete, which is also returned. opts carries Database, Grace
// and DryRun; Policies, Verified and Location are filled in here.
func Prune(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, repo *repository.Repo, opts repository.PruneOptions, trigger, osUser string) (*repository.PruneResult, error) {
	if opts.DryRun {
		return prune(ctx, cfg, cat, repo, opts)
	}
	jobID, err := cat.StartJob(ctx, catalog.Job{Kind: "prune", Database: opts.Database, Trigger: trigger, OSUser: osUser})
	if err != nil {
		return nil, err
	}
	res, err := prune(ctx, cfg, cat, repo, opts)
	if err == nil && res.Failed() {
		err = ErrPruneIncomplete
	}
	var bytes int64
	details := map[string]any{}
	if res != nil {
		bytes = res.DeletedBytes
		details["deleted_backups"], details["deleted_objects"] = res.DeletedBackups, res.DeletedObjects
	}
	if ferr := cat.FinishJob(context.WithoutCancel(ctx), jobID, "", bytes, err, details); ferr != nil && err == nil {
		err = ferr
	}
	return res, err
}
