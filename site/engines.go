package site

import (
	"fmt"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mysql"
	"github.com/dbopsd/dbopsd/engines/postgres"
)

// Engine returns the adapter for an engine name from a policy file.
func Engine(name string) (engines.Engine, error) {
	switch name {
	case "postgres":
		return postgres.New(), nil
	case "mysql", "mariadb":
		return mysql.New(), nil
	}
	return nil, fmt.Errorf("engine %q is not supported by this build (supported: postgres, mysql)", name)
}
