package postgres

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
)

func TestRegistration(t *testing.T) {
	r, ok := engines.Lookup("PostgreSQL")
	if !ok || r.Name != "postgres" || r.ToolDirSetting != "pg_bin_dir" {
		t.Fatalf("Lookup(PostgreSQL) = %+v, %v", r, ok)
	}
	if e, err := engines.New("postgresql"); err != nil || e.Name() != "postgres" {
		t.Errorf("New(postgresql) = %v, %v", e, err)
	}
}

func TestDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn              string
		server, database string
		password         bool
		wantErr          bool
	}{
		{"postgres://dbops@10.1.1.11:5432/queue", "10.1.1.11:5432", "queue", false, false},
		{"postgresql://dbops@db.local/queue", "db.local:5432", "queue", false, false},
		{"postgres://dbops:pw@10.1.1.11/queue", "10.1.1.11:5432", "queue", true, false},
		{"postgres://dbops@h/q?password=pw", "h:5432", "q", true, false},
		{"postgres://dbops@h?dbname=q", "h:5432", "q", false, false},
		{"host=10.1.1.11 port=6543 user=dbops dbname=queue", "10.1.1.11:6543", "queue", false, false},
		{"host=/var/run/postgresql dbname=queue", "/var/run/postgresql:5432", "queue", false, false},
		{"hostaddr=10.1.1.11 dbname=queue", "10.1.1.11:5432", "queue", false, false},
		{"user=dbops password = 'a b\\'c' dbname=x", "", "x", true, false},
		{"user=dbops dbname='unterminated", "", "", false, true},
		{"just-words", "", "", false, true},
		{"", "", "", false, true},
	} {
		d, err := engines.ParseDSN("postgres", tc.dsn)
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
	for _, dsn := range []string{"postgres://dbops:Secr3tPw@ho st:5432/x", "postgres://dbops:Secr3tPw@host:port/x"} {
		if _, err := engines.ParseDSN("postgres", dsn); err == nil || strings.Contains(err.Error(), "Secr3tPw") {
			t.Errorf("%q: %v", dsn, err)
		}
	}
}

func TestKeywords(t *testing.T) {
	got, err := keywords(`host=db1  port=5432 dbname='the \'name\'' user=a\ b password=`)
	want := [][2]string{{"host", "db1"}, {"port", "5432"}, {"dbname", "the 'name'"}, {"user", "a b"}, {"password", ""}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("keywords = %q, %v", got, err)
	}
	for _, bad := range []string{"host", "=x", "password='s3cret"} {
		_, err := keywords(bad)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("keywords(%q): %v", bad, err)
		}
	}
}
