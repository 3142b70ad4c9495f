package backup

import (
	"context"
	"errors"
	"fmt"

	"github.com/dbopsd/dbopsd/repository"
)

// plan is what a backup will be.
type plan struct {
	Type   string
	Base   *repository.Manifest // the generation's full, for a differential
	Reason string               // why Type differs from what was asked
}

// decide turns the requested type into a plan. A differential with no full
// before it becomes a full, and says so.
func decide(ctx context.Context, repo *repository.Repo, database, requested string) (plan, error) {
	switch requested {
	case repository.Full:
		return plan{Type: repository.Full}, nil
	case repository.Differential:
		base, skipped, err := latestBase(ctx, repo, database)
		if errors.Is(err, repository.ErrNotFound) && skipped != "" {
			return plan{Type: repository.Full, Reason: fmt.Sprintf("differential requested, but every full is outside the server's native backup chain (copy-only, taken by hand; the newest is %s) and none can be its base: took a full", skipped)}, nil
		}
		if errors.Is(err, repository.ErrNotFound) {
			return plan{Type: repository.Full, Reason: "differential requested, but there is no full backup yet: took a full"}, nil
		}
		if err != nil {
			return plan{}, fmt.Errorf("finding the full backup for a differential: %w", err)
		}
		if !base.SameChunker() {
			return plan{Type: repository.Full, Reason: fmt.Sprintf("differential requested, but full %s was cut into chunks by an earlier dbopsd (%s) and would share none: took a full", base.ID, base.ChunkerName())}, nil
		}
		p := plan{Type: repository.Differential, Base: base}
		if skipped != "" {
			p.Reason = fmt.Sprintf("differential of full %s, not of the newer full %s, which is outside the server's native backup chain (copy-only, taken by hand)", base.ID, skipped)
		}
		return p, nil
	}
	return plan{}, fmt.Errorf("unknown backup type %q (want full or differential)", requested)
}

// errTooLarge stops a differential that grew past differential_max_ratio.
var errTooLarge = errors.New("differential exceeds differential_max_ratio of its full")

// latestBase is the newest full of database that a differential can be
// based on: one inside the server's native backup chain
// (engines.Snapshot.OutsideChain unset). skipped names the newest full
// passed over for being outside it ("" none).
func latestBase(ctx context.Context, repo *repository.Repo, database string) (base *repository.Manifest, skipped string, err error) {
	refs, err := repo.ListManifests(ctx, database)
	if err != nil {
		return nil, "", err
	}
	for i := len(refs) - 1; i >= 0; i-- {
		if refs[i].ID != refs[i].Generation {
			continue
		}
		m, err := repo.LoadManifest(ctx, refs[i])
		if err != nil {
			return nil, skipped, err
		}
		if m.Snapshot != nil && m.Snapshot.OutsideChain {
			if skipped == "" {
				skipped = m.ID
			}
			continue
		}
		return m, skipped, nil
	}
	return nil, skipped, fmt.Errorf("database %q has no full backup: %w", database, repository.ErrNotFound)
}
