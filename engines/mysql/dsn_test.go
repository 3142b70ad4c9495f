package mysql

import (
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
)

func TestRegistration(t *testing.T) {
	r, ok := engines.Lookup("MariaDB")
	if !ok || r.Name != "mysql" || r.ToolDirSetting != "" {
		t.Fatalf("Lookup(MariaDB) = %+v, %v", r, ok)
	}
	if e, err := engines.New("mariadb"); err != nil || e.Name() != "mysql" {
		t.Errorf("New(mariadb) = %v, %v", e, err)
	}
}

func TestDSN(t *testing.T) {
	enginetest.CheckDSNs(t, "mysql", []enginetest.DSNCase{
		{DSN: "dbops@tcp(10.1.1.12:3306)/rating", Server: "10.1.1.12:3306", Database: "rating"},
		{DSN: "dbops@tcp(10.1.1.12)/rating", Server: "10.1.1.12:3306", Database: "rating"},
		{DSN: "dbops@unix(/run/mysqld/mysqld.sock)/rating", Server: "/run/mysqld/mysqld.sock", Database: "rating"},
		{DSN: "dbops:pw@tcp(10.1.1.12:3306)/rating", Server: "10.1.1.12:3306", Database: "rating", Password: true},
		{DSN: "mysql://dbops@10.1.1.12/rating", Server: "10.1.1.12:3306", Database: "rating"},
		{DSN: "mariadb://dbops:pw@10.1.1.12:3307/rating", Server: "10.1.1.12:3307", Database: "rating", Password: true},
		{DSN: "mysql:///rating", WantErr: true},
		{DSN: "dbops@tcp(10.1.1.12:3306", WantErr: true},
		{DSN: "10.1.1.12:3306", WantErr: true},
	}, []string{"dbops:Secr3tPw@tcp(host:3306", "dbops:Secr3tPw@tcp(host:3306)/db?tls=Secr3tPw"})
}
