// Package all links every engine adapter into the program that imports it.
// Adding an engine to dbopsd is one line here.
package all

import (
	_ "github.com/dbopsd/dbopsd/engines/mssql"
	_ "github.com/dbopsd/dbopsd/engines/mysql"
	_ "github.com/dbopsd/dbopsd/engines/postgres"
)
