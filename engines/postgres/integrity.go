package postgres

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
)

// CheckIntegrity implements engines.Engine with pg_amcheck: every table's
// heap (and its TOAST) and every B-tree index, with --heapallindexed (each
// heap tuple must be found in each index). The amcheck extension is
// created for the check if the database lacks it, and dropped again.
// Without pg_amcheck or amcheck the report says why nothing ran.
func (e *Engine) CheckIntegrity(ctx context.Context, target engines.Conn, database string) (*engines.IntegrityReport, error) {
	rep, err := e.checkIntegrity(ctx, target, database)
	if err != nil {
		return nil, fmt.Errorf("integrity check of PostgreSQL database %s: %w", database, err)
	}
	return rep, nil
}

func (e *Engine) checkIntegrity(ctx context.Context, target engines.Conn, database string) (*engines.IntegrityReport, error) {
	rep := &engines.IntegrityReport{Tool: "pg_amcheck"}
	amcheck, err := e.findTool(ctx, target.BinDir, "pg_amcheck", 14)
	if err != nil {
		rep.Skip(engines.Note{Key: NoteNoAmcheckTool, Params: engines.Params{"error": err.Error()}})
		return rep, nil
	}
	rep.Tool = amcheck.String()
	cfg, err := config(target, database)
	if err != nil {
		return nil, err
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	var available, installed bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'),
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck')`).Scan(&available, &installed); err != nil {
		return nil, classify(err)
	}
	if !available {
		rep.Skip(engines.Note{Key: NoteAmcheckUnavailable})
		return rep, nil
	}
	if !installed {
		// A restored database brings back its own settings; this session
		// must still be able to install (and drop) the extension.
		if _, err := conn.Exec(ctx, "SET default_transaction_read_only = off"); err != nil {
			return nil, classify(err)
		}
		if _, err := conn.Exec(ctx, "CREATE EXTENSION amcheck"); err != nil {
			rep.Skip(engines.Note{Key: NoteAmcheckNotCreated, Params: engines.Params{"error": err.Error()}})
			return rep, nil
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			conn.Exec(dctx, "DROP EXTENSION IF EXISTS amcheck")
		}()
	}
	cc, err := newChildConn(target, database)
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	start := time.Now()
	_, err = run(ctx, amcheck, []string{"--no-password", "--heapallindexed", "--jobs=2", cc.conninfo}, cc, &out)
	rep.Duration = time.Since(start)
	rep.Findings = parseFindings(out.String())
	var exitErr *exec.ExitError
	if err != nil && !(errors.As(err, &exitErr) && len(rep.Findings) > 0) {
		return nil, err
	}
	return rep, nil
}

// parseFindings groups pg_amcheck's report: a line naming a relation
// (and block, offset), then indented detail lines.
func parseFindings(out string) []string {
	var findings []string
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(findings) > 0 {
			findings[len(findings)-1] += " " + strings.TrimSpace(line)
			continue
		}
		findings = append(findings, strings.TrimSpace(line))
	}
	return findings
}
