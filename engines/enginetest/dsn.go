package enginetest

import (
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
)

// DSNCase is one DSN an adapter's registration must read: the server
// identity and database it names and whether it holds a password, or that
// it is refused.
type DSNCase struct {
	DSN              string
	Server, Database string
	Password         bool
	WantErr          bool
}

// CheckDSNs runs cases through the registry's ParseDSN for engine, and
// checks that parsing each of unparsable — DSNs that do not parse but hold
// the password "Secr3tPw" — fails without repeating the password. Every
// adapter's dsn_test.go calls it with its own table.
func CheckDSNs(t *testing.T, engine string, cases []DSNCase, unparsable []string) {
	t.Helper()
	for _, tc := range cases {
		d, err := engines.ParseDSN(engine, tc.DSN)
		switch {
		case tc.WantErr:
			if err == nil {
				t.Errorf("%q: want an error", tc.DSN)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.DSN, err)
		case d.Server != tc.Server || d.Database != tc.Database || d.Password.Empty() == tc.Password:
			t.Errorf("%q: server %q, database %q, password %v; want %q, %q, %v",
				tc.DSN, d.Server, d.Database, !d.Password.Empty(), tc.Server, tc.Database, tc.Password)
		}
	}
	for _, dsn := range unparsable {
		if !strings.Contains(dsn, "Secr3tPw") {
			t.Fatalf("%q: an unparsable case must hold the password Secr3tPw", dsn)
		}
		if _, err := engines.ParseDSN(engine, dsn); err == nil || strings.Contains(err.Error(), "Secr3tPw") {
			t.Errorf("%q: %v", dsn, err)
		}
	}
}
