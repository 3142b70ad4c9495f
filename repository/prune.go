package repository

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dbopsd/dbopsd/storage"
)

// DefaultPruneGrace is how old a chunk no manifest names must be before
// prune removes it: a backup writes its chunks long before its manifest.
const DefaultPruneGrace = 24 * time.Hour

// PruneOptions say what prune keeps.
type PruneOptions struct {
	// Database limits prune to one database ("" = every database).
	Database string
	// Policies is the retention of each database. A database in the
	// repository without an entry is left alone.
	Policies map[string]RetentionPolicy
	// Verified holds the ids of backups whose verification passed.
	Verified map[string]bool
	// Grace: chunks that no manifest names are removed once older than
	// this. Zero removes them at once (except those of a backup holding a
	// live lock, and those written after prune started).
	Grace time.Duration
	// DryRun deletes nothing and reports what would go.
	DryRun bool
	// Now is the time retention is computed at (default time.Now()).
	Now time.Time
	// Location is the time zone of the retention periods (default Local).
	Location *time.Location
	// Deletes is how many objects are deleted at once (default 4).
	Deletes int
}

// Generation statuses in a PruneResult.
const (
	PruneKept        = "kept"
	PruneDeleted     = "deleted"
	PruneWouldDelete = "would delete"
	PruneRetained    = "retained"
	PruneFailed      = "failed"
	PruneProtected   = "protected"
	PruneSkipped     = "skipped"
)

// PruneResult is what prune did (or, in a dry run, would do).
type PruneResult struct {
	DryRun         bool              `json:"dry_run"`
	Grace          string            `json:"grace"`
	Databases      []DatabasePrune   `json:"databases"`
	DeletedBackups int               `json:"deleted_backups"`
	DeletedObjects int               `json:"deleted_objects"`
	DeletedBytes   int64             `json:"deleted_bytes"`
	Locks          map[string]string `json:"live_locks,omitempty"`
}

// Failed reports whether something that should have been deleted could not
// be, for a reason other than object lock retention.
func (p *PruneResult) Failed() bool {
	for _, d := range p.Databases {
		for _, g := range d.Generations {
			if g.Status == PruneFailed {
				return true
			}
		}
		for _, o := range d.Orphans {
			if o.Status == PruneFailed {
				return true
			}
		}
	}
	return false
}

// DatabasePrune is prune's work on one database.
type DatabasePrune struct {
	Database string           `json:"database"`
	Policy   *RetentionPolicy `json:"policy,omitempty"`
	// Skipped says why the database was left alone.
	Skipped     string              `json:"skipped,omitempty"`
	Generations []GenerationOutcome `json:"generations,omitempty"`
	Orphans     []OrphanOutcome     `json:"orphans,omitempty"`
	// Problems are manifests that could not be read.
	Problems []string `json:"problems,omitempty"`
}

// GenerationOutcome is the decision on one generation and what came of it.
type GenerationOutcome struct {
	GenerationDecision
	// RetainUntil is the latest object-lock date of its backups.
	RetainUntil time.Time `json:"retain_until,omitzero"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	// Objects and Bytes count the objects deleted (or that would be).
	Objects int   `json:"objects,omitempty"`
	Bytes   int64 `json:"bytes,omitempty"`
}

// OrphanOutcome reports the chunks under one generation's data prefix that
// none of its manifests names: left by a backup that crashed or failed, or
// written by one still running.
type OrphanOutcome struct {
	Generation string `json:"generation"`
	// Objects and Bytes count the orphans older than the grace period.
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// Young counts orphans within the grace period, which stay.
	Young   int    `json:"young,omitempty"`
	Deleted int    `json:"deleted"`
	Status  string `json:"status"`
	Detail  string `json:"detail,omitempty"`
}

// generationState is what prune learns about a generation from its
// manifests.
type generationState struct {
	refs        []ManifestRef // oldest first
	chunks      map[string]bool
	started     time.Time
	retainUntil time.Time
	damaged     bool
}

// Prune applies retention to the repository: it deletes whole expired
// generations, manifests first (so nothing ever lists a backup whose data is
// half gone) and then the generation's data prefix, and it removes orphan
// chunks older than the grace period. It never deletes the newest
// generation, the generation of the newest verified full, a generation a
// running backup (live lock) writes into, nor anything before its
// object-lock date (such generations are reported as retained until then).
// Prune only fails when storage cannot be listed; what could not be deleted
// is reported in the result.
func (r *Repo) Prune(ctx context.Context, opts PruneOptions) (*PruneResult, error) {
	start := time.Now()
	now := opts.Now
	if now.IsZero() {
		now = start
	}
	if opts.Deletes <= 0 {
		opts.Deletes = 4
	}
	// Anything written after this instant may belong to a backup whose
	// lock is not in the listing below: orphans must be older.
	cutoff := start.Add(-opts.Grace)
	res := &PruneResult{DryRun: opts.DryRun, Grace: opts.Grace.String(), Locks: map[string]string{}}

	live, err := r.LiveLocks(ctx, start)
	if err != nil {
		return nil, err
	}
	for db, li := range live {
		res.Locks[db] = li.Holder()
	}
	refs, err := r.ListManifests(ctx, opts.Database)
	if err != nil {
		return nil, err
	}
	byDB := map[string][]ManifestRef{}
	for _, ref := range refs {
		byDB[ref.Database] = append(byDB[ref.Database], ref)
	}
	dbs := map[string]bool{}
	for db := range byDB {
		dbs[db] = true
	}
	for db := range opts.Policies {
		if opts.Database == "" || opts.Database == db {
			dbs[db] = true
		}
	}
	names := make([]string, 0, len(dbs))
	for db := range dbs {
		names = append(names, db)
	}
	sort.Strings(names)

	for _, db := range names {
		dp := DatabasePrune{Database: db}
		pol, ok := opts.Policies[db]
		if !ok {
			dp.Skipped = "not in the policy file: left alone"
			res.Databases = append(res.Databases, dp)
			continue
		}
		dp.Policy = &pol
		if err := r.pruneDatabase(ctx, &dp, byDB[db], live, opts, now, cutoff, res); err != nil {
			return nil, err
		}
		res.Databases = append(res.Databases, dp)
	}
	return res, nil
}

func (r *Repo) pruneDatabase(ctx context.Context, dp *DatabasePrune, refs []ManifestRef, live map[string]LockInfo,
	opts PruneOptions, now, cutoff time.Time, res *PruneResult) error {
	db := dp.Database
	gens := map[string]*generationState{}
	for _, ref := range refs {
		g := gens[ref.Generation]
		if g == nil {
			g = &generationState{chunks: map[string]bool{}}
			gens[ref.Generation] = g
		}
		g.refs = append(g.refs, ref)
		m, err := r.LoadManifest(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			g.damaged = true
			dp.Problems = append(dp.Problems, err.Error())
			continue
		}
		for _, p := range m.Parts {
			for _, c := range p.Chunks {
				g.chunks[chunkKey(db, m.Generation, c.ID)] = true
			}
		}
		if m.RetainUntil.After(g.retainUntil) {
			g.retainUntil = m.RetainUntil
		}
		if m.ID == m.Generation && g.started.IsZero() {
			g.started = m.StartedAt
		}
	}

	protected := map[string]string{}
	lock, locked := live[db]
	lockWhy := ""
	if locked {
		lockWhy = "backup running: lock held by " + lock.Holder() + " until " + lock.Expires.Local().Format(time.RFC3339)
	}
	infos := make([]GenerationInfo, 0, len(gens))
	for id, g := range gens {
		// The generation id is its full's id, which holds the full's start
		// time: it dates the generation even when the full's manifest is
		// damaged or already deleted by an interrupted prune.
		if t, ok := backupTime(id); ok {
			g.started = t
		} else if g.started.IsZero() {
			protected[id] = "its date is unknown (damaged full manifest)"
		}
		if locked && (lock.Generation == "" || lock.Generation == id) {
			protected[id] = lockWhy
		}
		info := GenerationInfo{ID: id, Started: g.started}
		for _, ref := range g.refs {
			info.Backups = append(info.Backups, ref.ID)
		}
		infos = append(infos, info)
	}
	decisions := Retain(RetentionInput{
		Generations: infos, Policy: *dp.Policy, Now: now, Location: opts.Location,
		Verified: opts.Verified, Protected: protected,
	})

	gone := map[string]bool{}
	for _, d := range decisions {
		g := gens[d.ID]
		out := GenerationOutcome{GenerationDecision: d, RetainUntil: g.retainUntil, Status: PruneKept}
		switch {
		case d.Keep:
		case g.retainUntil.After(now):
			out.Status = PruneRetained
			out.Error = "retained until " + g.retainUntil.Local().Format(time.RFC3339) + " (object lock): deleted by the first prune after that"
		case opts.DryRun:
			out.Status = PruneWouldDelete
			n, bytes, err := r.countPrefix(ctx, generationDataPrefix(db, d.ID))
			if err != nil {
				return err
			}
			out.Objects, out.Bytes = n+len(g.refs), bytes
			for _, ref := range g.refs {
				out.Bytes += ref.Size
			}
		default:
			// Recorded first: a backup of a generation prune deleted is
			// not reported missing (chain.go).
			if err := r.writePruned(ctx, db, d.ID); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				out.Status, out.Error = PruneFailed, err.Error()
				break
			}
			n, bytes, err := r.deleteGeneration(ctx, db, d.ID, g.refs, opts.Deletes)
			out.Objects, out.Bytes = n, bytes
			res.DeletedObjects += n
			res.DeletedBytes += bytes
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				out.Status, out.Error = PruneFailed, err.Error()
				if errors.Is(err, storage.ErrRetained) {
					// The manifests did not say (written before the
					// date was recorded, or locked by hand): the
					// storage did.
					out.Status = PruneRetained
					out.RetainUntil, out.Error = retained(err, out.RetainUntil)
				}
				break
			}
			out.Status = PruneDeleted
			res.DeletedBackups += len(g.refs)
			gone[d.ID] = true
			r.logger.Info("pruned generation", "database", db, "generation", d.ID, "backups", len(g.refs), "objects", n)
		}
		dp.Generations = append(dp.Generations, out)
	}
	return r.pruneOrphans(ctx, dp, gens, gone, lock, locked, lockWhy, opts, cutoff, res)
}

// deleteGeneration deletes the manifests of one generation, newest first
// and its full last, then everything under its data prefix. If a manifest
// cannot be deleted, the data stays: every backup still listed stays whole.
// If the data cannot all be deleted, what remains is a generation without
// manifests, whose chunks the next prune removes as orphans.
func (r *Repo) deleteGeneration(ctx context.Context, db, gen string, refs []ManifestRef, workers int) (int, int64, error) {
	n, bytes := 0, int64(0)
	for i := len(refs) - 1; i >= 0; i-- {
		if err := r.st.Delete(ctx, refs[i].Key); err != nil {
			return n, bytes, fmt.Errorf("deleting manifest of backup %s (its data stays): %w", refs[i].ID, err)
		}
		n++
		bytes += refs[i].Size
	}
	var objs []storage.ObjectInfo
	err := r.st.List(ctx, generationDataPrefix(db, gen), func(oi storage.ObjectInfo) error {
		objs = append(objs, oi)
		return nil
	})
	if err != nil {
		return n, bytes, fmt.Errorf("listing the data of generation %s (its manifests are gone; the next prune removes the rest): %w", gen, err)
	}
	dn, db2, err := r.deleteObjects(ctx, objs, workers)
	n, bytes = n+dn, bytes+db2
	if err != nil {
		return n, bytes, fmt.Errorf("deleting the data of generation %s (its manifests are gone; the next prune removes the rest): %w", gen, err)
	}
	return n, bytes, nil
}

// pruneOrphans removes, generation by generation, the chunks no manifest of
// the generation names and that are older than the cutoff.
func (r *Repo) pruneOrphans(ctx context.Context, dp *DatabasePrune, gens map[string]*generationState, gone map[string]bool,
	lock LockInfo, locked bool, lockWhy string, opts PruneOptions, cutoff time.Time, res *PruneResult) error {
	db := dp.Database
	prefix := dataPrefix + db + "/"
	byGen := map[string][]storage.ObjectInfo{}
	var order []string
	err := r.st.List(ctx, prefix, func(oi storage.ObjectInfo) error {
		rest := strings.TrimPrefix(oi.Key, prefix)
		gen, _, _ := strings.Cut(rest, "/")
		if gone[gen] {
			return nil
		}
		if _, ok := byGen[gen]; !ok {
			order = append(order, gen)
		}
		byGen[gen] = append(byGen[gen], oi)
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the data of database %s: %w", db, err)
	}
	for _, gen := range order {
		g := gens[gen]
		o := OrphanOutcome{Generation: gen}
		var cands []storage.ObjectInfo
		for _, oi := range byGen[gen] {
			if g != nil && g.chunks[oi.Key] {
				continue
			}
			if oi.ModTime.Before(cutoff) {
				cands = append(cands, oi)
				o.Objects++
				o.Bytes += oi.Size
			} else {
				o.Young++
			}
		}
		if o.Objects == 0 && o.Young == 0 {
			continue
		}
		switch {
		case locked && (lock.Generation == "" || lock.Generation == gen):
			o.Status, o.Detail = PruneProtected, lockWhy
		case g != nil && g.damaged:
			o.Status, o.Detail = PruneSkipped, "a manifest of this generation cannot be read, so which chunks it needs is unknown"
		case o.Objects == 0:
			o.Status, o.Detail = PruneKept, "younger than the grace period "+opts.Grace.String()
		case opts.DryRun:
			o.Status = PruneWouldDelete
		default:
			n, bytes, err := r.deleteObjects(ctx, cands, opts.Deletes)
			o.Deleted = n
			res.DeletedObjects += n
			res.DeletedBytes += bytes
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				o.Status, o.Detail = PruneFailed, err.Error()
				if errors.Is(err, storage.ErrRetained) {
					o.Status = PruneRetained
					var known time.Time
					if g != nil && g.retainUntil.After(time.Now()) {
						known = g.retainUntil
					}
					_, o.Detail = retained(err, known)
				}
				break
			}
			o.Status = PruneDeleted
			r.logger.Info("removed orphan chunks", "database", db, "generation", gen, "objects", n)
		}
		dp.Orphans = append(dp.Orphans, o)
	}
	return nil
}

// deleteObjects deletes objs with a few workers. It stops at the first
// error (under object lock, every other delete would fail the same way) and
// returns how many objects and bytes were deleted.
func (r *Repo) deleteObjects(ctx context.Context, objs []storage.ObjectInfo, workers int) (int, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	n, bytes := 0, int64(0)
	work := make(chan storage.ObjectInfo)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for oi := range work {
				if err := r.st.Delete(ctx, oi.Key); err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				n++
				bytes += oi.Size
				mu.Unlock()
			}
		}()
	}
feed:
	for _, oi := range objs {
		select {
		case work <- oi:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return n, bytes, context.Cause(ctx)
}

func (r *Repo) countPrefix(ctx context.Context, prefix string) (int, int64, error) {
	n, bytes := 0, int64(0)
	err := r.st.List(ctx, prefix, func(oi storage.ObjectInfo) error {
		n++
		bytes += oi.Size
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("listing %s: %w", prefix, err)
	}
	return n, bytes, nil
}

// retained describes a delete that object lock refused (err wraps
// storage.ErrRetained): until what date the objects stay, the later of
// known and the date the storage gave, and the detail for the report.
func retained(err error, known time.Time) (time.Time, string) {
	until, hold := known, false
	if re, ok := errors.AsType[*storage.RetentionError](err); ok {
		if re.Until.After(until) {
			until = re.Until
		}
		hold = re.LegalHold
	}
	switch {
	case hold:
		return until, "under a legal hold (object lock): deleted by the first prune after it is lifted; the storage said: " + err.Error()
	case until.IsZero():
		return until, "under object-lock retention: the storage refused the delete: " + err.Error()
	}
	return until, "retained until " + until.Local().Format(time.RFC3339) + " (object lock, the storage refused the delete): deleted by the first prune after that"
}
