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
		base, err := repo.LatestFull(ctx, database)
		if errors.Is(err, repository.ErrNotFound) {
			return plan{Type: repository.Full, Reason: "differential requested, but there is no full backup yet: took a full"}, nil
		}
		if err != nil {
			return plan{}, fmt.Errorf("finding the full backup for a differential: %w", err)
		}
		if !base.SameChunker() {
			return plan{Type: repository.Full, Reason: fmt.Sprintf("differential requested, but full %s was cut into chunks by an earlier dbopsd (%s) and would share none: took a full", base.ID, base.ChunkerName())}, nil
		}
		return plan{Type: repository.Differential, Base: base}, nil
	}
	return plan{}, fmt.Errorf("unknown backup type %q (want full or differential)", requested)
}

// errTooLarge stops a differential that grew past differential_max_ratio.
var errTooLarge = errors.New("differential exceeds differential_max_ratio of its full")
