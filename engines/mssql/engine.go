package mssql

import (
	"fmt"

	"github.com/dbopsd/dbopsd/engines"
)

func init() {
	engines.Register(engines.Registration{
		Name:     engineName,
		Aliases:  []string{"sqlserver"},
		New:      New,
		ParseDSN: dsnInfo,
	})
}

const engineName = "mssql"

// New answers that this build has no SQL Server adapter yet.
func New() (engines.Engine, error) {
	return nil, fmt.Errorf("engine %q (SQL Server) is not supported by this build yet: its policy blocks validate, but it cannot back up, restore or verify", engineName)
}
