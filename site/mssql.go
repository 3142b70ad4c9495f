package site

import (
	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines/mssql"
)

// configureMSSQL hands the policy's blob listener settings (daemon
// mssql_listen, mssql_url, tls_cert, tls_key) to the SQL Server adapter,
// which starts the listener when a backup or restore first needs it. Every
// job builder calls it, so a reloaded policy's settings reach the next
// job; settings that did not change leave the running listener alone.
func configureMSSQL(cfg *config.Config, logger hclog.Logger) {
	dm := cfg.Daemon
	mssql.Configure(mssql.ListenerConfig{Listen: dm.MSSQLListen, URL: dm.MSSQLURL, CertFile: dm.TLSCert, KeyFile: dm.TLSKey}, logger)
}
