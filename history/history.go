package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/repository"
)

// Kinds of documents. A kind is a path segment in the repository: a new
// one is a new constant here, so that two producers never share one.
const (
	KindDiagnosis  = "diagnosis"
	KindDictionary = "dictionary"
	KindVolume     = "volume"
	KindReport     = "report"
	// KindMaintenance holds a database's maintenance proposals
	// (maintenance.Set).
	KindMaintenance = "maintenance"
)

// Store saves and reads documents. Both fields are required for Save;
// reads need only the catalog.
type Store struct {
	Repo    *repository.Repo
	Catalog *catalog.Catalog
}

// Save stores v (as JSON) as a document of kind for database taken at t,
// first in the repository, then in the catalog, and returns its id. A
// document the repository did not take is not recorded anywhere.
func (s Store) Save(ctx context.Context, kind, database string, t time.Time, v any) (string, error) {
	if s.Repo == nil || s.Catalog == nil {
		return "", errors.New("history: saving needs both the repository and the catalog")
	}
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding the %s document of %s: %w", kind, database, err)
	}
	id := repository.NewBackupID(t)
	if err := s.Repo.PutDocument(ctx, kind, database, id, body); err != nil {
		return "", err
	}
	if err := s.Catalog.PutDocument(ctx, catalog.Document{Kind: kind, Database: database, ID: id, TakenAt: t.UTC(), Body: body}); err != nil {
		return "", err
	}
	return id, nil
}

// Load decodes the document kind/database/id into v, from the catalog, or
// from the repository when the catalog lacks it (and Repo is set).
func (s Store) Load(ctx context.Context, kind, database, id string, v any) error {
	d, ok, err := s.Catalog.Document(ctx, kind, database, id)
	if err != nil {
		return err
	}
	body := d.Body
	if !ok {
		if s.Repo == nil {
			return fmt.Errorf("no %s document %s of %s in the catalog", kind, id, database)
		}
		if body, err = s.Repo.GetDocument(ctx, repository.DocumentRef{Kind: kind, Database: database, ID: id}); err != nil {
			return err
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding %s document %s of %s: %w", kind, id, database, err)
	}
	return nil
}

// List returns the documents q selects, oldest first, from the catalog.
func (s Store) List(ctx context.Context, q catalog.DocumentQuery) ([]catalog.Document, error) {
	return s.Catalog.Documents(ctx, q)
}

// Latest returns the newest document of kind for database taken before
// until (zero: any time), or ok false when there is none.
func (s Store) Latest(ctx context.Context, kind, database string, until time.Time) (catalog.Document, bool, error) {
	docs, err := s.Catalog.Documents(ctx, catalog.DocumentQuery{Kind: kind, Database: database, Until: until, Limit: 1})
	if err != nil || len(docs) == 0 {
		return catalog.Document{}, false, err
	}
	return docs[0], true, nil
}
