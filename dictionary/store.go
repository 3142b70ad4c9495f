package dictionary

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/history"
)

// Save stores d through history (kind "dictionary"): in the repository and
// the catalog, so that catalog rebuild and the mirror bring it back.
func Save(ctx context.Context, hs history.Store, d *Dictionary) (string, error) {
	return hs.Save(ctx, history.KindDictionary, d.Database, d.CollectedAt, d)
}

// Previous returns the newest stored dictionary of database taken before
// t, or ok false when there is none.
func Previous(ctx context.Context, hs history.Store, database string, t time.Time) (d *Dictionary, ok bool, err error) {
	doc, ok, err := hs.Latest(ctx, history.KindDictionary, database, t)
	if err != nil || !ok {
		return nil, false, err
	}
	d = &Dictionary{}
	if err := json.Unmarshal(doc.Body, d); err != nil {
		return nil, false, fmt.Errorf("decoding the dictionary %s of %s: %w", doc.ID, database, err)
	}
	return d, true, nil
}

// Step is what changed from one stored dictionary to the next.
type Step struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	ToID    string    `json:"to_id"`
	Changes []Change  `json:"changes"`
}

// History lists the changes between consecutive stored dictionaries of
// database taken since since (zero: all), each compared with the one
// before it (which may be older than since). Fewer than two dictionaries:
// no steps.
func History(ctx context.Context, hs history.Store, database string, since time.Time) ([]Step, error) {
	docs, err := hs.List(ctx, catalog.DocumentQuery{Kind: history.KindDictionary, Database: database, Since: since, WithoutBody: true})
	if err != nil {
		return nil, err
	}
	steps := []Step{}
	var prev *Dictionary
	var prevAt time.Time
	if len(docs) > 0 && !since.IsZero() {
		p, ok, err := Previous(ctx, hs, database, docs[0].TakenAt)
		if err != nil {
			return nil, err
		}
		if ok {
			prev, prevAt = p, p.CollectedAt
		}
	}
	for _, doc := range docs {
		d := &Dictionary{}
		if err := hs.Load(ctx, history.KindDictionary, database, doc.ID, d); err != nil {
			return nil, err
		}
		if prev != nil {
			steps = append(steps, Step{From: prevAt, To: doc.TakenAt, ToID: doc.ID, Changes: Diff(prev, d)})
		}
		prev, prevAt = d, doc.TakenAt
	}
	return steps, nil
}

// WriteJSON writes the model as indented JSON.
func WriteJSON(out io.Writer, d *Dictionary) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
