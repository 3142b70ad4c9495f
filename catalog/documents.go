package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/repository"
)

// Documents are the catalog's index of the repository's documents
// (repository/documents.go): diagnosis snapshots, data-dictionary runs,
// volume samples. The catalog keeps each body too, so history queries
// (trends over twelve months, "what changed since") read no storage;
// `catalog rebuild` brings them back from the repository.

// Document is one stored document.
type Document struct {
	Kind     string    `json:"kind"`
	Database string    `json:"database"`
	ID       string    `json:"id"`
	TakenAt  time.Time `json:"taken_at"`
	Body     []byte    `json:"-"`
}

func migrateDocuments(db *sql.DB) error {
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS documents (
	kind     TEXT NOT NULL,
	database TEXT NOT NULL,
	id       TEXT NOT NULL,
	taken_at TEXT NOT NULL,
	body     BLOB NOT NULL,
	PRIMARY KEY (kind, database, id)
);
CREATE INDEX IF NOT EXISTS documents_time ON documents(kind, database, taken_at)`)
	return err
}

// PutDocument records d (again: a document with the same kind, database
// and id is replaced).
func (c *Catalog) PutDocument(ctx context.Context, d Document) error {
	_, err := c.db.ExecContext(ctx, `INSERT OR REPLACE INTO documents (kind, database, id, taken_at, body) VALUES (?, ?, ?, ?, ?)`,
		d.Kind, d.Database, d.ID, ts(d.TakenAt), d.Body)
	if err != nil {
		return fmt.Errorf("recording %s document %s of %s in the catalog: %w", d.Kind, d.ID, d.Database, err)
	}
	return nil
}

// DocumentQuery selects documents: Kind is required; Database "" means
// every database; a zero Since or Until leaves that end open (Until is
// exclusive); Limit > 0 keeps the newest Limit.
type DocumentQuery struct {
	Kind, Database string
	Since, Until   time.Time
	Limit          int
	// WithoutBody leaves Body nil (listings).
	WithoutBody bool
}

// Documents returns the documents q selects, oldest first.
func (c *Catalog) Documents(ctx context.Context, q DocumentQuery) ([]Document, error) {
	body := "body"
	if q.WithoutBody {
		body = "x''"
	}
	query := `SELECT kind, database, id, taken_at, ` + body + ` FROM documents WHERE kind = ?`
	args := []any{q.Kind}
	if q.Database != "" {
		query += ` AND database = ?`
		args = append(args, q.Database)
	}
	if !q.Since.IsZero() {
		query += ` AND taken_at >= ?`
		args = append(args, ts(q.Since))
	}
	if !q.Until.IsZero() {
		query += ` AND taken_at < ?`
		args = append(args, ts(q.Until))
	}
	query += ` ORDER BY taken_at DESC, id DESC`
	if q.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}
	rows, err := c.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s documents from the catalog: %w", q.Kind, err)
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		var d Document
		var taken string
		if err := rows.Scan(&d.Kind, &d.Database, &d.ID, &taken, &d.Body); err != nil {
			return nil, fmt.Errorf("reading %s documents from the catalog: %w", q.Kind, err)
		}
		d.TakenAt = parseTS(taken)
		if q.WithoutBody {
			d.Body = nil
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s documents from the catalog: %w", q.Kind, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Document returns one document, or ok false when the catalog has none by
// that name.
func (c *Catalog) Document(ctx context.Context, kind, database, id string) (d Document, ok bool, err error) {
	var taken string
	err = c.db.QueryRowContext(ctx, `SELECT kind, database, id, taken_at, body FROM documents WHERE kind = ? AND database = ? AND id = ?`,
		kind, database, id).Scan(&d.Kind, &d.Database, &d.ID, &taken, &d.Body)
	if err == sql.ErrNoRows {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("reading %s document %s of %s from the catalog: %w", kind, id, database, err)
	}
	d.TakenAt = parseTS(taken)
	return d, true, nil
}

// syncDocuments adds the repository's documents the catalog lacks. takenAt
// reads a document's time from its body (the catalog does not know the
// kinds' models); a document it cannot read is reported as damaged.
func (c *Catalog) syncDocuments(ctx context.Context, repo *repository.Repo, res *RebuildResult) error {
	refs, err := repo.ListDocuments(ctx, "", "")
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if _, ok, err := c.Document(ctx, ref.Kind, ref.Database, ref.ID); err != nil {
			return err
		} else if ok {
			continue
		}
		body, err := repo.GetDocument(ctx, ref)
		if err != nil {
			res.Damaged = append(res.Damaged, err.Error())
			continue
		}
		if err := c.PutDocument(ctx, Document{Kind: ref.Kind, Database: ref.Database, ID: ref.ID, TakenAt: repository.DocumentTime(ref.ID), Body: body}); err != nil {
			return err
		}
		res.Documents++
	}
	return nil
}
