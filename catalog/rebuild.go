package catalog

import (
	"context"
	"fmt"

	"github.com/dbopsd/dbopsd/repository"
)

// RebuildResult counts what Rebuild did.
type RebuildResult struct {
	Backups int      `json:"backups"`
	Removed int      `json:"removed"`
	Damaged []string `json:"damaged,omitempty"`
	// Missing are backups whose manifest is gone, and not by prune: the
	// repository's chain and heads say so, or the catalog remembers them
	// (missing.go).
	Missing []repository.MissingBackup `json:"missing,omitempty"`
	// Documents is how many documents (diagnosis snapshots, dictionaries,
	// volume samples) a rebuild read back from the repository.
	Documents int `json:"documents,omitempty"`
}

// Rebuild recreates the backups table from the manifests in repo: a backup
// is in the catalog exactly when its manifest is in storage. The job log is
// kept: it is history, not an index. The backups remembered as missing are
// forgotten; those the repository itself shows missing are reported.
func (c *Catalog) Rebuild(ctx context.Context, repo *repository.Repo) (*RebuildResult, error) {
	res, err := c.sync(ctx, repo, "", true, false)
	if err != nil {
		return nil, err
	}
	return res, c.syncDocuments(ctx, repo, res)
}

// Sync adds backups of database ("" for all) that are in the repository but
// not in the catalog, and removes those that are gone, remembering as
// missing those prune did not delete. Manifests already catalogued are not
// read again, so it is cheap to call before listing.
func (c *Catalog) Sync(ctx context.Context, repo *repository.Repo, database string) (*RebuildResult, error) {
	return c.sync(ctx, repo, database, false, true)
}

// SyncMirror is Sync from a mirror, which may lack backups the primary
// holds: what it lacks is not remembered as missing.
func (c *Catalog) SyncMirror(ctx context.Context, repo *repository.Repo, database string) (*RebuildResult, error) {
	return c.sync(ctx, repo, database, false, false)
}

func (c *Catalog) sync(ctx context.Context, repo *repository.Repo, database string, all, remember bool) (*RebuildResult, error) {
	refs, err := repo.ListManifests(ctx, database)
	if err != nil {
		return nil, err
	}
	rows, err := c.Backups(ctx, database)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	if !all {
		for _, b := range rows {
			if b.Status == "ok" {
				have[b.ID] = true
			}
		}
	}
	res := &RebuildResult{}
	keep := map[string]bool{}
	present := map[string]bool{}
	var damaged []repository.ChainEntry
	for _, ref := range refs {
		keep[ref.ID] = true
		present[ref.Database+"/"+ref.ID] = true
		if have[ref.ID] {
			continue
		}
		m, err := repo.LoadManifest(ctx, ref)
		if err != nil {
			res.Damaged = append(res.Damaged, fmt.Sprintf("%s: %v", ref.Key, err))
			damaged = append(damaged, repository.ChainEntry{Database: ref.Database, ID: ref.ID, Generation: ref.Generation})
			continue
		}
		if err := c.AddBackup(ctx, FromManifest(m)); err != nil {
			return nil, err
		}
		res.Backups++
	}
	anchors, err := repo.LoadAnchors(ctx, database)
	if err != nil {
		return nil, err
	}
	for _, b := range rows {
		if keep[b.ID] {
			continue
		}
		if remember && !anchors.Pruned[b.Database+"/"+b.Generation] {
			if err := c.rememberMissing(ctx, b); err != nil {
				return nil, err
			}
		}
		if _, err := c.db.ExecContext(ctx, `DELETE FROM backups WHERE id = ?`, b.ID); err != nil {
			return nil, fmt.Errorf("removing %s from the catalog: %w", b.ID, err)
		}
		res.Removed++
	}

	entries, err := c.chainEntries(ctx, database)
	if err != nil {
		return nil, err
	}
	res.Missing = repository.FindMissing(append(entries, damaged...), anchors)
	remembered, err := c.rememberedMissing(ctx, database, present, anchors, all)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, m := range res.Missing {
		known[m.Database+"/"+m.ID] = true
	}
	for _, m := range remembered {
		if !known[m.Database+"/"+m.ID] {
			res.Missing = append(res.Missing, m)
		}
	}
	return res, nil
}
