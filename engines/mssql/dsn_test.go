package mssql

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
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
	for _, tc := range []struct {
		dsn              string
		server, database string
		password         bool
		wantErr          bool
	}{
		{"sqlserver://dbops@10.1.1.13:1433?database=datahub", "10.1.1.13:1433", "datahub", false, false},
		{"sqlserver://dbops@10.1.1.13?database=datahub", "10.1.1.13:1433", "datahub", false, false},
		{"sqlserver://dbops@10.1.1.13/SQLEXPRESS", "10.1.1.13", "", false, false},
		{"sqlserver://dbops:pw@10.1.1.13", "10.1.1.13:1433", "", true, false},
		{"sqlserver://dbops@10.1.1.13?Password=pw", "10.1.1.13:1433", "", true, false},
		{"sqlserver:///x", "", "", false, true},
		{"server=h;user id=u", "", "", false, true},
	} {
		d, err := engines.ParseDSN("mssql", tc.dsn)
		switch {
		case tc.wantErr:
			if err == nil {
				t.Errorf("%q: want an error", tc.dsn)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.dsn, err)
		case d.Server != tc.server || d.Database != tc.database || d.Password.Empty() == tc.password:
			t.Errorf("%q: server %q, database %q, password %v; want %q, %q, %v",
				tc.dsn, d.Server, d.Database, !d.Password.Empty(), tc.server, tc.database, tc.password)
		}
	}
	if _, err := engines.ParseDSN("mssql", "sqlserver://dbops:Secr3tPw@ho st"); err == nil || strings.Contains(err.Error(), "Secr3tPw") {
		t.Errorf("an unparsable DSN: %v", err)
	}
}
