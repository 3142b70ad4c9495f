package mssql

import (
	"context"
	"errors"
	"fmt"
	"time"

	mssqldb "github.com/microsoft/go-mssqldb"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// CheckIntegrity implements engines.Engine: DBCC CHECKDB WITH NO_INFOMSGS,
// ALL_ERRORMSGS, as dbatools' Test-DbaLastBackup runs it. Each error it
// reports is a finding; an error that is not DBCC's (the connection
// dropped) is returned.
func (e *Engine) CheckIntegrity(ctx context.Context, target engines.Conn, database string) (*engines.IntegrityReport, error) {
	db, err := open(ctx, target, "master")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	s, err := checkDB(database)
	if err != nil {
		return nil, fault.Permanent(err)
	}
	rep := &engines.IntegrityReport{Tool: "DBCC CHECKDB"}
	start := time.Now()
	_, err = db.ExecContext(ctx, s.sql, s.params()...)
	rep.Duration = time.Since(start)
	var me mssqldb.Error
	switch {
	case err == nil:
	case errors.As(err, &me) && ctx.Err() == nil && !classified(err):
		for _, e := range me.All {
			rep.Findings = append(rep.Findings, fmt.Sprintf("Msg %d, Level %d, State %d: %s", e.Number, e.Class, e.State, e.Message))
		}
	default:
		return nil, fmt.Errorf("DBCC CHECKDB of %s: %w", database, classify(err))
	}
	return rep, nil
}

// classified reports an error that is not a finding of the check: the
// database is missing, the login may not run it, the connection went.
func classified(err error) bool {
	c := classify(err)
	return errors.Is(c, fault.ErrPermanent) || fault.IsTransient(c)
}
