package reconcile

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/dbopsd/dbopsd/engines"
)

// Reconciler is the capability an engine adapter offers for
// reconciliation, in its reconcile.go. Run finds it with a type assertion.
type Reconciler interface {
	// OpenReconcile opens a read-only session on database (a database on
	// the server of c) that sees one consistent snapshot where the engine
	// offers one, with opts' statement timeout, and counts the bytes it
	// exchanges with the server in opts.Counter.
	OpenReconcile(ctx context.Context, c engines.Conn, database string, opts SessionOptions) (Session, error)
}

// SessionOptions tune a Session.
type SessionOptions struct {
	// StatementTimeout bounds each statement on the server; 0 = the
	// server's default.
	StatementTimeout time.Duration
	// Counter counts the bytes read from and written to the server; nil =
	// not counted.
	Counter *Counter
}

// Session is one side of a reconciliation: a connection in one snapshot.
// Its statements are built by the functions of sql.go from the adapter's
// Dialect, so that both engines compute the same values.
type Session interface {
	// Columns describes the columns of table in order; an error wrapping
	// ErrNoTable when there is no such table.
	Columns(ctx context.Context, table engines.TableRef) ([]Column, error)
	// Buckets runs BucketsSQL(q) and returns its rows.
	Buckets(ctx context.Context, q Query) ([]Bucket, error)
	// Rows runs RowsSQL(q) and returns its rows.
	Rows(ctx context.Context, q Query) ([]Row, error)
	// Close ends the snapshot and the connection.
	Close() error
}

// ErrNoTable is wrapped by Session.Columns when the table does not exist.
var ErrNoTable = errors.New("no such table")

// ErrNotSupported is wrapped by Run when an engine does not offer
// reconciliation.
var ErrNotSupported = errors.New("reconciliation is not supported for this engine")

// Bucket is one group of rows: those whose key hash starts with Prefix.
type Bucket struct {
	Prefix string
	Rows   int64
	// Sum is the sum of the rows' 60-bit hashes as a decimal number,
	// compared as text.
	Sum string
}

// Row is one row as normalised text: the key columns, then the compared
// columns, in the Query's order. A nil value is NULL.
type Row struct {
	Key    []string
	Values []*string
}

// Counter counts the bytes that cross the network, on the client side:
// what the connections it wraps read and write.
type Counter struct{ in, out atomic.Int64 }

// Bytes returns the bytes read and written so far.
func (c *Counter) Bytes() (read, written int64) {
	if c == nil {
		return 0, 0
	}
	return c.in.Load(), c.out.Load()
}

// DialFunc is how the database drivers open a connection.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Wrap returns dial (nil: a plain net.Dialer) with every connection it
// opens counted in c. A nil Counter returns dial unchanged.
func (c *Counter) Wrap(dial DialFunc) DialFunc {
	if c == nil {
		return dial
	}
	if dial == nil {
		d := &net.Dialer{KeepAlive: 5 * time.Minute}
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: conn, c: c}, nil
	}
}

type countingConn struct {
	net.Conn
	c *Counter
}

func (cc *countingConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.c.in.Add(int64(n))
	return n, err
}

func (cc *countingConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.c.out.Add(int64(n))
	return n, err
}
