package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Engine is the PostgreSQL adapter. The zero value is not usable; call New.
// Its exported fields tune it; New sets them to the defaults.
type Engine struct {
	// SplitBytes: a table whose heap (main fork) is larger than this is
	// backed up as several parts by heap block range, each of SplitBytes
	// worth of blocks, copied (and restored) on several connections at
	// once. Zero or less never splits. Needs PostgreSQL 14 or newer (TID
	// range scans); older servers copy every table whole.
	SplitBytes int64

	// versions caches `tool --version` by path: a job runs pg_restore
	// several times and the answer does not change.
	versions sync.Map // path -> toolVersion
}

var _ engines.Engine = (*Engine)(nil)

func init() {
	engines.Register(engines.Registration{
		Name:           "postgres",
		Aliases:        []string{"postgresql"},
		New:            func() (engines.Engine, error) { return New(), nil },
		ParseDSN:       dsnInfo,
		ToolDirSetting: "pg_bin_dir", // pg_dump, pg_restore, pg_amcheck (tools.go)
	})
}

// New returns the PostgreSQL engine.
func New() *Engine { return &Engine{SplitBytes: 128 << 20} }

// Name implements engines.Engine.
func (e *Engine) Name() string { return "postgres" }

// Part names and formats. Old backups keep their formats: a later version of
// the adapter reads parts by Format, not by guessing.
const (
	schemaPart   = "schema"
	metaPart     = "meta/tables.json"
	dataPrefix   = "data/"
	formatSchema = "pg_dump-custom"
	formatData   = "copy-text"
	formatMeta   = "dbopsd-pg-meta-v1"
)

// stableOutput makes COPY render every value the same way on every server
// and session, so checksums of equal data are equal. row_security = off
// makes a table that row-level security would filter fail loudly instead of
// being copied in part (what pg_dump does too).
const stableOutput = `SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC';
SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_encoding = 'UTF8';
SET lc_monetary = 'C'; SET standard_conforming_strings = on; SET row_security = off;
SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0;
SET synchronize_seqscans = off`

func logger(l hclog.Logger) hclog.Logger {
	if l == nil {
		return hclog.NewNullLogger()
	}
	return l.Named("postgres")
}

// config parses the DSN of c for database (empty: the DSN's own). The
// password goes into the config only, never into a string.
func config(c engines.Conn, database string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(c.DSN)
	if err != nil {
		// pgconn redacts any password in the DSN from its parse errors.
		return nil, fault.Permanent(fmt.Errorf("parsing the PostgreSQL DSN: %w", err))
	}
	if database != "" {
		cfg.Database = database
	}
	if !c.Password.Empty() {
		cfg.Password = c.Password.Reveal()
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	// Read the socket a megabyte at a time (pgx reads 8 KiB): a COPY of a
	// big table then costs far fewer system calls and wake-ups.
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, 1<<20), w)
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "dbopsd"
	}
	return cfg, nil
}

// connect opens a connection with cfg and applies the stable output
// settings.
func connect(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, classify(fmt.Errorf("connecting to database %s on %s:%d: %w", cfg.Database, cfg.Host, cfg.Port, err))
	}
	if _, err := conn.Exec(ctx, stableOutput); err != nil {
		closeConn(conn)
		return nil, classify(fmt.Errorf("setting up a session on database %s: %w", cfg.Database, err))
	}
	return conn, nil
}

// closeConn closes conn even when the job's context is already cancelled.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn.Close(ctx)
}

// maintenanceConn connects to the server of c for work on database name
// (create, drop, exists): to the DSN's database unless that is name itself,
// else to "postgres", else to "template1".
func maintenanceConn(ctx context.Context, c engines.Conn, name string) (*pgx.Conn, error) {
	cfg, err := config(c, "")
	if err != nil {
		return nil, err
	}
	candidates := []string{cfg.Database, "postgres", "template1"}
	var firstErr error
	for _, db := range candidates {
		if db == "" || db == name {
			continue
		}
		cfg.Database = db
		conn, err := connect(ctx, cfg)
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if !isCode(err, "3D000") { // only a missing database is worth another try
			break
		}
	}
	if firstErr == nil {
		firstErr = fault.Permanent(fmt.Errorf("no maintenance database to connect to for work on %s", name))
	}
	return nil, firstErr
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

func quoteIdent(parts ...string) string {
	return pgx.Identifier(parts).Sanitize()
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// table returns t with the schema PostgreSQL assumes when none is given.
func table(t engines.TableRef) engines.TableRef {
	if t.Schema == "" {
		t.Schema = "public"
	}
	return t
}

func quoteTable(t engines.TableRef) string {
	t = table(t)
	return quoteIdent(t.Schema, t.Name)
}
