package maintenance

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/history"
)

// SetVersion is the version of the stored Set.
const SetVersion = 1

// Set is the proposals for one database at one time: one history document
// of kind history.KindMaintenance. A proposal's id is the document's id, a
// dot and its number in Proposals (from 1).
type Set struct {
	Version   int        `json:"version"`
	Database  string     `json:"database"`
	Engine    string     `json:"engine"`
	TakenAt   time.Time  `json:"taken_at"`
	Proposals []Proposal `json:"proposals"`
}

// Save stores set and returns it with the proposals' ids filled in.
func Save(ctx context.Context, h history.Store, set Set) (Set, error) {
	set.Version = SetVersion
	for i := range set.Proposals {
		set.Proposals[i].ID = ""
	}
	id, err := h.Save(ctx, history.KindMaintenance, set.Database, set.TakenAt, set)
	if err != nil {
		return Set{}, fmt.Errorf("storing the maintenance proposals of %s: %w", set.Database, err)
	}
	number(&set, id)
	return set, nil
}

func number(set *Set, docID string) {
	for i := range set.Proposals {
		set.Proposals[i].ID = docID + "." + strconv.Itoa(i+1)
	}
}

// List returns the stored proposal sets of database ("" for every
// database), oldest first; latest keeps only the newest set per database.
func List(ctx context.Context, h history.Store, database string, latest bool) ([]Set, error) {
	docs, err := h.List(ctx, catalog.DocumentQuery{Kind: history.KindMaintenance, Database: database})
	if err != nil {
		return nil, fmt.Errorf("listing maintenance proposals: %w", err)
	}
	if latest {
		newest := map[string]int{}
		for i, d := range docs {
			if j, ok := newest[d.Database]; !ok || d.TakenAt.After(docs[j].TakenAt) || d.TakenAt.Equal(docs[j].TakenAt) {
				newest[d.Database] = i
			}
		}
		var keep []catalog.Document
		for i, d := range docs {
			if newest[d.Database] == i {
				keep = append(keep, d)
			}
		}
		docs = keep
	}
	var out []Set
	for _, d := range docs {
		var s Set
		if err := h.Load(ctx, history.KindMaintenance, d.Database, d.ID, &s); err != nil {
			return nil, err
		}
		number(&s, d.ID)
		out = append(out, s)
	}
	return out, nil
}

// Find returns the stored proposal id of database.
func Find(ctx context.Context, h history.Store, database, id string) (Proposal, error) {
	i := strings.LastIndexByte(id, '.')
	n, err := strconv.Atoi(id[i+1:])
	if i <= 0 || err != nil || n < 1 {
		return Proposal{}, fmt.Errorf("%q is not a proposal id (see dbopsd maintenance list --database %s)", id, database)
	}
	var s Set
	if err := h.Load(ctx, history.KindMaintenance, database, id[:i], &s); err != nil {
		return Proposal{}, fmt.Errorf("proposal %s of %s: %w", id, database, err)
	}
	if n > len(s.Proposals) {
		return Proposal{}, fmt.Errorf("proposal %s of %s: the set has %d proposals", id, database, len(s.Proposals))
	}
	number(&s, id[:i])
	return s.Proposals[n-1], nil
}
