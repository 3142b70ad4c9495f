package mysql

import (
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/secret"
)

// dsnInfo reads a MySQL/MariaDB DSN as a policy writes it, the
// go-sql-driver form (user@tcp(host:3306)/db) or a URL
// (mysql://user@host:3306/db, mariadb://...), for the registry
// (Registration.ParseDSN). Unlike parseDSN (conn.go), which connects, it
// wants a URL to name its host: a policy says which server it backs up.
func dsnInfo(dsn string) (engines.DSN, error) {
	if strings.HasPrefix(dsn, "mysql://") || strings.HasPrefix(dsn, "mariadb://") {
		u, err := engines.ParseDSNURL(dsn)
		if err != nil {
			return engines.DSN{}, err
		}
		if u.Host == "" {
			return engines.DSN{}, fmt.Errorf("the URL names no host")
		}
		return engines.DSN{
			Server:   engines.HostPort(u.Host, "3306"),
			Database: strings.TrimPrefix(u.Path, "/"),
			Password: secret.New(engines.URLPassword(u)),
		}, nil
	}
	if !strings.Contains(dsn, "/") {
		return engines.DSN{}, fmt.Errorf("a MySQL DSN is user@tcp(host:3306)/db or mysql://user@host:3306/db")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return engines.DSN{}, err
	}
	return engines.DSN{Server: cfg.Addr, Database: cfg.DBName, Password: secret.New(cfg.Passwd)}, nil
}
