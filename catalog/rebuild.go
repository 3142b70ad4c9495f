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
}

// Rebuild recreates the backups table from the manifests in repo: a backup
// is in the catalog exactly when its manifest is in storage. The job log is
// kept: it is history, not an index.
func (c *Catalog) Rebuild(ctx context.Context, repo *repository.Repo) (*RebuildResult, error) {
	return c.sync(ctx, repo, "", true)
}

// Sync adds backups of database ("" for all) that are in the repository but
// not in the catalog, and removes those that are gone. Manifests already
// catalogued are not read again, so it is cheap to call before listing.
func (c *Catalog) Sync(ctx context.Context, repo *repository.Repo, database string) (*RebuildResult, error) {
	return c.sync(ctx, repo, database, false)
}

func (c *Catalog) sync(ctx context.Context, repo *repository.Repo, database string, all bool) (*RebuildResult, error) {
	refs, err := repo.ListManifests(ctx, database)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	if !all {
		bs, err := c.Backups(ctx, database)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if b.Status == "ok" {
				have[b.ID] = true
			}
		}
	}
	res := &RebuildResult{}
	keep := map[string]bool{}
	for _, ref := range refs {
		keep[ref.ID] = true
		if have[ref.ID] {
			continue
		}
		m, err := repo.LoadManifest(ctx, ref)
		if err != nil {
			res.Damaged = append(res.Damaged, fmt.Sprintf("%s: %v", ref.Key, err))
			continue
		}
		if err := c.AddBackup(ctx, FromManifest(m)); err != nil {
			return nil, err
		}
		res.Backups++
	}
	n, err := c.RemoveBackupsExcept(ctx, database, keep)
	res.Removed = n
	return res, err
}
