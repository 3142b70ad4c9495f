package mssql

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// SQL Server is registered under its name and alias, and New builds the
// adapter; without a blob listener in the policy its backups fail
// permanently, saying what to set.
func TestRegistration(t *testing.T) {
	r, ok := engines.Lookup("SQLServer")
	if !ok || r.Name != "mssql" || r.ToolDirSetting != "" {
		t.Fatalf("Lookup(SQLServer) = %+v, %v", r, ok)
	}
	e, err := engines.New("sqlserver")
	if err != nil || e.Name() != "mssql" {
		t.Fatalf("New(sqlserver) = %v, %v", e, err)
	}
	Configure(ListenerConfig{}, nil)
	_, err = e.Backup(context.Background(), engines.Conn{DSN: "sqlserver://dbops@127.0.0.1:1?database=sales"}, engines.BackupOptions{Type: "full"}, nil)
	if err == nil || !strings.Contains(err.Error(), "set mssql_listen, mssql_url, tls_cert and tls_key") || !errors.Is(err, fault.ErrPermanent) {
		t.Errorf("Backup without a listener: %v", err)
	}
}

func TestDSN(t *testing.T) {
	enginetest.CheckDSNs(t, "mssql", []enginetest.DSNCase{
		{DSN: "sqlserver://dbops@10.1.1.13:1433?database=datahub", Server: "10.1.1.13:1433", Database: "datahub"},
		{DSN: "sqlserver://dbops@10.1.1.13?database=datahub", Server: "10.1.1.13:1433", Database: "datahub"},
		{DSN: "sqlserver://dbops@10.1.1.13/SQLEXPRESS", Server: "10.1.1.13"},
		{DSN: "sqlserver://dbops:pw@10.1.1.13", Server: "10.1.1.13:1433", Password: true},
		{DSN: "sqlserver://dbops@10.1.1.13?Password=pw", Server: "10.1.1.13:1433", Password: true},
		{DSN: "sqlserver:///x", WantErr: true},
		{DSN: "server=h;user id=u", WantErr: true},
	}, []string{"sqlserver://dbops:Secr3tPw@ho st"})
}
