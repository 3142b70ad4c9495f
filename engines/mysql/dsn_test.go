package mysql

import (
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
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
	for _, tc := range []struct {
		dsn              string
		server, database string
		password         bool
		wantErr          bool
	}{
		{"dbops@tcp(10.1.1.12:3306)/rating", "10.1.1.12:3306", "rating", false, false},
		{"dbops@tcp(10.1.1.12)/rating", "10.1.1.12:3306", "rating", false, false},
		{"dbops@unix(/run/mysqld/mysqld.sock)/rating", "/run/mysqld/mysqld.sock", "rating", false, false},
		{"dbops:pw@tcp(10.1.1.12:3306)/rating", "10.1.1.12:3306", "rating", true, false},
		{"mysql://dbops@10.1.1.12/rating", "10.1.1.12:3306", "rating", false, false},
		{"mariadb://dbops:pw@10.1.1.12:3307/rating", "10.1.1.12:3307", "rating", true, false},
		{"mysql:///rating", "", "", false, true},
		{"dbops@tcp(10.1.1.12:3306", "", "", false, true},
		{"10.1.1.12:3306", "", "", false, true},
	} {
		d, err := engines.ParseDSN("mysql", tc.dsn)
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
	// A DSN that does not parse may still hold a password: the error must
	// not repeat it.
	for _, dsn := range []string{"dbops:Secr3tPw@tcp(host:3306", "dbops:Secr3tPw@tcp(host:3306)/db?tls=Secr3tPw"} {
		if _, err := engines.ParseDSN("mysql", dsn); err == nil || strings.Contains(err.Error(), "Secr3tPw") {
			t.Errorf("%q: %v", dsn, err)
		}
	}
}
