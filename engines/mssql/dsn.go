package mssql

import (
	"fmt"
	"strings"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/secret"
)

// dsnInfo reads an SQL Server DSN as a policy writes it, a URL
// (sqlserver://user@host:1433?database=NAME, or
// sqlserver://user@host/INSTANCE for a named instance), for the registry
// (Registration.ParseDSN).
func dsnInfo(dsn string) (engines.DSN, error) {
	if !strings.HasPrefix(dsn, "sqlserver://") {
		return engines.DSN{}, fmt.Errorf("an SQL Server DSN is a URL: sqlserver://user@host:1433?database=NAME")
	}
	u, err := engines.ParseDSNURL(dsn)
	if err != nil {
		return engines.DSN{}, err
	}
	if u.Host == "" {
		return engines.DSN{}, fmt.Errorf("the URL names no host")
	}
	server := u.Host
	if u.Port() == "" && strings.Trim(u.Path, "/") == "" { // a named instance finds its port itself
		server = engines.HostPort(u.Host, "1433")
	}
	return engines.DSN{Server: server, Database: u.Query().Get("database"), Password: secret.New(engines.URLPassword(u))}, nil
}
