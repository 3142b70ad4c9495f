package mssql

import (
	"context"
	"errors"

	"github.com/dbopsd/dbopsd/engines"
)

// restoreTables is the single-table restore: restore the backup under a
// scratch name, copy the tables into the target with bulk copy, drop the
// scratch copy. Not in this build.
func (e *Engine) restoreTables(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	return nil, engines.Permanent(errors.New("restoring single tables of a SQL Server backup is not in this build yet: restore the database under another name (--as) and copy the tables"))
}
