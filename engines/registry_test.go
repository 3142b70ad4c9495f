package engines_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	_ "github.com/dbopsd/dbopsd/engines/all"
)

func TestLookup(t *testing.T) {
	for name, want := range map[string]string{
		"postgres": "postgres", "postgresql": "postgres", "PostgreSQL": "postgres",
		"mysql": "mysql", "mariadb": "mysql", "MariaDB": "mysql",
		"mssql": "mssql", "sqlserver": "mssql",
	} {
		r, ok := engines.Lookup(name)
		if !ok || r.Name != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, r.Name, ok, want)
		}
	}
	for _, name := range []string{"", "oracle", "postgres "} {
		if r, ok := engines.Lookup(name); ok {
			t.Errorf("Lookup(%q) = %q", name, r.Name)
		}
	}
	var names []string
	for _, r := range engines.Registered() {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"mssql", "mysql", "postgres"}) {
		t.Errorf("Registered() = %v", names)
	}
	if got, want := engines.Known(), `"mssql" (or "sqlserver"), "mysql" (or "mariadb"), "postgres" (or "postgresql")`; got != want {
		t.Errorf("Known() = %s, want %s", got, want)
	}
	if got := engines.ToolDirSettings(); !slices.Equal(got, []string{"pg_bin_dir"}) {
		t.Errorf("ToolDirSettings() = %v", got)
	}
}

func TestNew(t *testing.T) {
	for name, want := range map[string]string{"postgresql": "postgres", "mariadb": "mysql", "mysql": "mysql"} {
		e, err := engines.New(name)
		if err != nil || e.Name() != want {
			t.Errorf("New(%q) = %v, %v; want the %s adapter", name, e, err, want)
		}
	}
	// SQL Server is known (policies name it) but not built yet.
	for _, name := range []string{"mssql", "sqlserver"} {
		_, err := engines.New(name)
		if err == nil || !strings.Contains(err.Error(), "not supported by this build") || !errors.Is(err, engines.ErrPermanent) {
			t.Errorf("New(%q): %v", name, err)
		}
		if errors.Is(err, engines.ErrUnknownEngine) {
			t.Errorf("New(%q): %v is not about an unknown engine", name, err)
		}
	}
	_, err := engines.New("oracle")
	if !errors.Is(err, engines.ErrUnknownEngine) || !errors.Is(err, engines.ErrPermanent) ||
		!strings.Contains(err.Error(), `engine "oracle" is not supported by this build`) {
		t.Errorf("New(oracle): %v", err)
	}
}

func TestRegisterRefusesTakenNames(t *testing.T) {
	for _, r := range []engines.Registration{
		{Name: "mysql"},
		{Name: "MySQL"},
		{Name: "tidb", Aliases: []string{"MariaDB"}},
	} {
		r.New = func() (engines.Engine, error) { return nil, errors.New("test") }
		r.ParseDSN = func(string) (engines.DSN, error) { return engines.DSN{}, nil }
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q, aliases %v) did not panic", r.Name, r.Aliases)
				}
			}()
			engines.Register(r)
		}()
	}
	// A refused registration leaves nothing behind.
	if _, ok := engines.Lookup("tidb"); ok {
		t.Errorf("tidb was half registered")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Register without a DSN parser did not panic")
			}
		}()
		engines.Register(engines.Registration{Name: "nodsn", New: func() (engines.Engine, error) { return nil, nil }})
	}()
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		engine, dsn      string
		server, database string
		password         bool
		wantErr          bool
	}{
		{"postgres", "postgres://dbops@10.1.1.11:5432/queue", "10.1.1.11:5432", "queue", false, false},
		{"postgresql", "postgresql://dbops@db.local/queue", "db.local:5432", "queue", false, false},
		{"postgres", "postgres://dbops:pw@10.1.1.11/queue", "10.1.1.11:5432", "queue", true, false},
		{"postgres", "postgres://dbops@h/q?password=pw", "h:5432", "q", true, false},
		{"postgres", "host=10.1.1.11 port=6543 user=dbops dbname=queue", "10.1.1.11:6543", "queue", false, false},
		{"postgres", "host=/var/run/postgresql dbname=queue", "/var/run/postgresql:5432", "queue", false, false},
		{"postgres", "user=dbops password = 'a b\\'c' dbname=x", "", "x", true, false},
		{"postgres", "user=dbops dbname='unterminated", "", "", false, true},
		{"postgres", "just-words", "", "", false, true},
		{"postgres", "", "", "", false, true},
		{"mysql", "dbops@tcp(10.1.1.12:3306)/rating", "10.1.1.12:3306", "rating", false, false},
		{"mysql", "dbops@tcp(10.1.1.12)/rating", "10.1.1.12:3306", "rating", false, false},
		{"mysql", "dbops:pw@tcp(10.1.1.12:3306)/rating", "10.1.1.12:3306", "rating", true, false},
		{"mysql", "mysql://dbops@10.1.1.12/rating", "10.1.1.12:3306", "rating", false, false},
		{"mariadb", "mariadb://dbops:pw@10.1.1.12:3307/rating", "10.1.1.12:3307", "rating", true, false},
		{"mysql", "dbops@tcp(10.1.1.12:3306", "", "", false, true},
		{"mssql", "sqlserver://dbops@10.1.1.13:1433?database=datahub", "10.1.1.13:1433", "datahub", false, false},
		{"mssql", "sqlserver://dbops@10.1.1.13?database=datahub", "10.1.1.13:1433", "datahub", false, false},
		{"sqlserver", "sqlserver://dbops@10.1.1.13/SQLEXPRESS", "10.1.1.13", "", false, false},
		{"mssql", "sqlserver://dbops:pw@10.1.1.13", "10.1.1.13:1433", "", true, false},
		{"mssql", "sqlserver://dbops@10.1.1.13?Password=pw", "10.1.1.13:1433", "", true, false},
		{"mssql", "server=h;user id=u", "", "", false, true},
		{"oracle", "oracle://h/x", "", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.engine+" "+tc.dsn, func(t *testing.T) {
			d, err := engines.ParseDSN(tc.engine, tc.dsn)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if d.Server != tc.server || d.Database != tc.database {
				t.Errorf("server, database = %q, %q; want %q, %q", d.Server, d.Database, tc.server, tc.database)
			}
			if got := !d.Password.Empty(); got != tc.password {
				t.Errorf("password found = %v, want %v", got, tc.password)
			}
			if got := engines.ServerOf(tc.engine, tc.dsn); got != tc.server {
				t.Errorf("ServerOf = %q, want %q", got, tc.server)
			}
		})
	}
}

// A DSN that does not parse may still hold a password: the error must not
// repeat it.
func TestDSNErrorsHidePasswords(t *testing.T) {
	for _, tc := range []struct{ engine, dsn string }{
		{"postgres", "postgres://dbops:Secr3tPw@ho st:5432/x"},
		{"postgres", "postgres://dbops:Secr3tPw@host:port/x"},
		{"mysql", "dbops:Secr3tPw@tcp(host:3306"},
		{"mysql", "dbops:Secr3tPw@tcp(host:3306)/db?tls=Secr3tPw"},
		{"mssql", "sqlserver://dbops:Secr3tPw@ho st"},
	} {
		_, err := engines.ParseDSN(tc.engine, tc.dsn)
		if err == nil {
			t.Errorf("%s: want an error", tc.dsn)
			continue
		}
		if strings.Contains(err.Error(), "Secr3tPw") {
			t.Errorf("error for %s reveals the password: %v", tc.engine, err)
		}
	}
}
