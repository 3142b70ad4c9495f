package postgres

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
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
	enginetest.CheckDSNs(t, "postgres", []enginetest.DSNCase{
		{DSN: "postgres://dbops@10.1.1.11:5432/queue", Server: "10.1.1.11:5432", Database: "queue"},
		{DSN: "postgresql://dbops@db.local/queue", Server: "db.local:5432", Database: "queue"},
		{DSN: "postgres://dbops:pw@10.1.1.11/queue", Server: "10.1.1.11:5432", Database: "queue", Password: true},
		{DSN: "postgres://dbops@h/q?password=pw", Server: "h:5432", Database: "q", Password: true},
		{DSN: "postgres://dbops@h?dbname=q", Server: "h:5432", Database: "q"},
		{DSN: "host=10.1.1.11 port=6543 user=dbops dbname=queue", Server: "10.1.1.11:6543", Database: "queue"},
		{DSN: "host=/var/run/postgresql dbname=queue", Server: "/var/run/postgresql:5432", Database: "queue"},
		{DSN: "hostaddr=10.1.1.11 dbname=queue", Server: "10.1.1.11:5432", Database: "queue"},
		{DSN: "user=dbops password = 'a b\\'c' dbname=x", Database: "x", Password: true},
		{DSN: "user=dbops dbname='unterminated", WantErr: true},
		{DSN: "just-words", WantErr: true},
		{DSN: "", WantErr: true},
	}, []string{"postgres://dbops:Secr3tPw@ho st:5432/x", "postgres://dbops:Secr3tPw@host:port/x"})
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
