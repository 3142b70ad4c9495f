package prune

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/repository"
)

// ErrIncomplete says some expired objects could not be deleted (the
// result lists them and why).
var ErrIncomplete = errors.New("some expired objects could not be deleted")

// Storage roles in a prune.
const (
	RolePrimary = "primary"
	RoleMirror  = "mirror"
)

// Options say what Run prunes.
type Options struct {
	// Database, Grace, DryRun and Now are passed to repository.Prune;
	// Policies, Verified and Location are filled in from the policy file
	// and the catalog.
	repository.PruneOptions
	// Storage limits the prune to one storage block: the repository's own
	// or one of its mirrors. Empty: the repository's storage, then every
	// mirror in the order repository.mirrors lists them.
	Storage string
	// Trigger and OSUser go into the job log.
	Trigger, OSUser string
	Logger          hclog.Logger
	// Open opens the repository on a storage block by name (site.Prune
	// sets it: prune is a job, and who wires storages sits above it).
	Open func(ctx context.Context, storage string, log hclog.Logger) (*repository.Repo, error)
}

// Result is the outcome of a prune on every storage it covered, the
// repository's own first.
type Result struct {
	Storages []*StorageResult `json:"storages"`
}

// StorageResult is the prune of one storage.
type StorageResult struct {
	// Storage is the storage block's name, Role RolePrimary or RoleMirror,
	// URL where it is (no credentials).
	Storage string `json:"storage"`
	Role    string `json:"role"`
	URL     string `json:"url,omitempty"`
	// JobID is the "prune" job recorded in the catalog (none for a dry
	// run).
	JobID int64 `json:"job_id,omitempty"`
	// Skipped says why there was nothing to prune (a mirror no run has
	// written to yet).
	Skipped string `json:"skipped,omitempty"`
	// Result is what repository.Prune did; nil when it could not run.
	Result *repository.PruneResult `json:"result,omitempty"`
	// Error says why the storage could not be pruned, or was pruned only
	// in part.
	Error string `json:"error,omitempty"`

	err error
}

// Err is why the storage could not be pruned (wrapping ErrIncomplete
// when some expired objects stay), or nil.
func (s *StorageResult) Err() error { return s.err }

// Err joins the errors of every storage, nil when each was pruned.
func (r *Result) Err() error {
	var errs []error
	for _, s := range r.Storages {
		if s.err != nil {
			errs = append(errs, s.err)
		}
	}
	return errors.Join(errs...)
}

// Run applies the retention of every policy to the repository's storage
// and then to each of its mirrors (or to the one storage opts.Storage
// names). Each storage is pruned on its own manifests by
// repository.Prune, which never deletes the newest generation, the
// generation of the newest verified backup, that of a running backup, nor
// anything under object lock. Which backups were verified comes from the
// catalog and applies to every storage by backup id; it is read before
// anything else, from the verification jobs as well as the backups table,
// so that a backup the primary no longer holds still counts as verified on
// a mirror that does.
//
// Only the primary's prune touches the catalog's backups table (synced
// before and after: the catalog indexes the primary). Every storage's
// attempt except a dry run is recorded as a "prune" job whose target is
// the storage's name. A storage that cannot be reached fails on its own:
// the others are pruned all the same. The error joins the storages'
// errors; those that could not delete some expired objects wrap
// ErrIncomplete. The result is nil only when opts name no storage of
// the policy.
func Run(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, opts Options) (*Result, error) {
	names := append([]string{cfg.Repository.Storage}, cfg.Repository.Mirrors...)
	if opts.Storage != "" {
		if _, err := cfg.RepoStorage(opts.Storage); err != nil {
			return nil, err
		}
		names = []string{opts.Storage}
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	opts.Policies = map[string]repository.RetentionPolicy{}
	for name, db := range cfg.Databases {
		if p := cfg.PolicyFor(db); p != nil {
			r := p.Retention
			opts.Policies[name] = repository.RetentionPolicy{Generations: r.Generations, Monthly: r.Monthly, Quarterly: r.Quarterly, Yearly: r.Yearly}
		}
	}
	opts.Location = cfg.Daemon.Location
	verified, err := verifiedBackups(ctx, cat, opts.Database)
	if err != nil {
		return nil, err
	}
	opts.Verified = verified

	res := &Result{}
	for _, name := range names {
		role := RoleMirror
		if name == cfg.Repository.Storage {
			role = RolePrimary
		}
		res.Storages = append(res.Storages, pruneStorage(ctx, cfg, cat, name, role, opts))
		if ctx.Err() != nil {
			break
		}
	}
	return res, res.Err()
}

// pruneStorage prunes one storage and records the job.
func pruneStorage(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, name, role string, opts Options) *StorageResult {
	sp := &StorageResult{Storage: name, Role: role}
	log := opts.Logger.With("storage", name)
	var jobID int64
	if !opts.DryRun {
		id, err := cat.StartJob(ctx, catalog.Job{Kind: "prune", Database: opts.Database, Target: name, Trigger: opts.Trigger, OSUser: opts.OSUser})
		if err != nil {
			sp.err, sp.Error = err, err.Error()
			return sp
		}
		jobID, sp.JobID = id, id
	}

	err := func() error {
		repo, err := opts.Open(ctx, name, log)
		if role == RoleMirror && errors.Is(err, repository.ErrNoRepository) {
			sp.Skipped = "no mirror run has written the repository there yet"
			return nil
		}
		if err != nil {
			return err
		}
		sp.URL = repo.Storage().String()
		if role == RolePrimary {
			sp.Result, err = prunePrimary(ctx, cat, repo, opts.PruneOptions)
		} else {
			sp.Result, err = repo.Prune(ctx, opts.PruneOptions)
		}
		if err == nil && sp.Result.Failed() {
			err = ErrIncomplete
		}
		return err
	}()
	if err != nil {
		err = fmt.Errorf("pruning %s %s: %w", role, name, err)
		// Returned, not logged: the caller reports it.
		sp.err, sp.Error = err, err.Error()
	}

	if !opts.DryRun {
		var bytes int64
		details := map[string]any{"storage": name, "role": role}
		if sp.Skipped != "" {
			details["skipped"] = sp.Skipped
		}
		if r := sp.Result; r != nil {
			bytes = r.DeletedBytes
			details["deleted_backups"], details["deleted_objects"] = r.DeletedBackups, r.DeletedObjects
			if n := retainedGenerations(r); n > 0 {
				details["retained_generations"] = n
			}
		}
		if ferr := cat.FinishJob(context.WithoutCancel(ctx), jobID, "", bytes, err, details); ferr != nil && sp.err == nil {
			sp.err, sp.Error = ferr, ferr.Error()
		}
	}
	return sp
}

// prunePrimary prunes the repository's own storage with the catalog kept
// in step: brought up to date before, and rid of what went after.
func prunePrimary(ctx context.Context, cat *catalog.Catalog, repo *repository.Repo, opts repository.PruneOptions) (*repository.PruneResult, error) {
	if _, err := cat.Sync(ctx, repo, opts.Database); err != nil {
		return nil, err
	}
	res, err := repo.Prune(ctx, opts)
	if err == nil && !opts.DryRun {
		_, err = cat.Sync(ctx, repo, opts.Database)
	}
	return res, err
}

// verifiedBackups are the ids of the backups of database ("" for all)
// whose latest verification passed. The backups table says so for the
// backups the primary holds; the job log remembers the others (deleted
// from the primary, by a prune or by hand), which a mirror may still hold.
func verifiedBackups(ctx context.Context, cat *catalog.Catalog, database string) (map[string]bool, error) {
	out := map[string]bool{}
	bs, err := cat.Backups(ctx, database)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, b := range bs {
		if b.VerifyStatus != "" {
			known[b.ID] = true
			out[b.ID] = b.VerifyStatus == catalog.StatusOK
		}
	}
	jobs, err := cat.Jobs(ctx, catalog.JobFilter{Database: database, Kind: "verify"})
	if err != nil {
		return nil, err
	}
	for _, j := range jobs { // oldest first: the latest verdict wins
		if j.BackupID == "" || known[j.BackupID] {
			continue
		}
		switch j.Status {
		case catalog.StatusOK:
			out[j.BackupID] = true
		case catalog.StatusFailed:
			if _, ok := j.Details["problems"]; ok { // the backup restored wrong, not the job that failed
				out[j.BackupID] = false
			}
		}
	}
	for id, ok := range out {
		if !ok {
			delete(out, id)
		}
	}
	return out, nil
}

// retainedGenerations counts the expired generations object lock keeps.
func retainedGenerations(r *repository.PruneResult) int {
	n := 0
	for _, d := range r.Databases {
		for _, g := range d.Generations {
			if g.Status == repository.PruneRetained {
				n++
			}
		}
	}
	return n
}
