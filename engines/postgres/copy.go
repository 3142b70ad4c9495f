package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
)

// Table data travels as COPY text format: one row per line ('\n' inside
// values is escaped), values rendered by the server under stableOutput. The
// same rendering gives the statistics, at backup time from the very stream
// that is stored, and on a restored copy by TableStats.

// rowDigester passes a COPY text stream through and feeds every row to a
// RowDigest. The server sends one row per CopyData message, so a row split
// across writes is rare; only such a partial tail is kept.
type rowDigester struct {
	w     io.Writer
	d     engines.RowDigest
	bytes int64
	tail  []byte
}

func (r *rowDigester) Write(p []byte) (int, error) {
	if r.w != nil {
		if n, err := r.w.Write(p); err != nil {
			return n, err
		}
	}
	r.bytes += int64(len(p))
	data := p
	if len(r.tail) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			r.tail = append(r.tail, data...)
			return len(p), nil
		}
		r.tail = append(r.tail, data[:i]...)
		r.d.Add(r.tail)
		r.tail = r.tail[:0]
		data = data[i+1:]
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		r.d.Add(data[:i])
		data = data[i+1:]
	}
	if len(data) > 0 {
		r.tail = append(r.tail, data...)
	}
	return len(p), nil
}

func (r *rowDigester) stats(t engines.TableRef) (engines.TableStats, error) {
	if len(r.tail) > 0 {
		return engines.TableStats{}, fmt.Errorf("COPY of %s ended inside a row", t)
	}
	return engines.TableStats{Table: t, Rows: r.d.Rows(), Checksum: r.d.Sum(), Bytes: r.bytes}, nil
}

// copyOut streams table t into w (nil: only count) and returns its
// statistics.
func copyOut(ctx context.Context, conn *pgx.Conn, t engines.TableRef, w io.Writer) (engines.TableStats, error) {
	rd, err := copyOutSQL(ctx, conn, "COPY "+quoteTable(t)+" TO STDOUT", w)
	if err != nil {
		return engines.TableStats{}, err
	}
	return rd.stats(t)
}

// copyOutSQL runs sql, a COPY ... TO STDOUT in text format, streaming into
// w (nil: only count), and returns the digest of the rows it sent.
func copyOutSQL(ctx context.Context, conn *pgx.Conn, sql string, w io.Writer) (*rowDigester, error) {
	rd := &rowDigester{w: w}
	if _, err := conn.PgConn().CopyTo(ctx, rd, sql); err != nil {
		return nil, err
	}
	return rd, nil
}

// readErr remembers the error of the reader a COPY FROM consumes: pgconn
// turns it into a CopyFail message, and the server's answer to that would
// hide the cause (a damaged part, say) from errors.Is.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// copyIn loads r, a COPY text stream, into t (only columns, when given:
// generated columns cannot be loaded) and returns the rows loaded.
func copyIn(ctx context.Context, conn *pgx.Conn, t engines.TableRef, columns []string, r io.Reader) (int64, error) {
	sql := "COPY " + quoteTable(t)
	if len(columns) > 0 {
		q := make([]string, len(columns))
		for i, c := range columns {
			q[i] = quoteIdent(c)
		}
		sql += " (" + strings.Join(q, ", ") + ")"
	}
	sql += " FROM STDIN"
	er := &readErr{r: r}
	tag, err := conn.PgConn().CopyFrom(ctx, er, sql)
	if er.err != nil {
		return 0, er.err
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
