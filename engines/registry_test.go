package engines_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// The registry is tested with engines of its own; each adapter tests its
// registration and DSNs in its dsn_test.go.

// stub is an Engine for the registry's tests: only its name is real.
type stub struct {
	engines.Engine
	name string
}

func (s stub) Name() string { return s.name }

// init registers the test engines: "alpha" (alias "AlphaDB") with client
// tools, and "beta", which this "build" does not support yet.
func init() {
	engines.Register(engines.Registration{
		Name:    "alpha",
		Aliases: []string{"AlphaDB", "alpha-sql"},
		New:     func() (engines.Engine, error) { return stub{name: "alpha"}, nil },
		// The parser's errors quote the DSN, as url.Parse's do.
		ParseDSN: func(dsn string) (engines.DSN, error) {
			host, db, ok := strings.Cut(strings.TrimPrefix(dsn, "alpha://"), "/")
			if !ok {
				return engines.DSN{}, fmt.Errorf("%q has no database", dsn)
			}
			return engines.DSN{Server: engines.HostPort(host, "7000"), Database: db}, nil
		},
		ToolDirSetting: "alpha_bin_dir",
	})
	engines.Register(engines.Registration{
		Name: "beta",
		New: func() (engines.Engine, error) {
			return nil, errors.New(`engine "beta" is not supported by this build yet`)
		},
		ParseDSN: func(string) (engines.DSN, error) { return engines.DSN{}, nil },
	})
}

func TestLookup(t *testing.T) {
	for name, want := range map[string]string{"alpha": "alpha", "ALPHA": "alpha", "alphadb": "alpha", "Alpha-SQL": "alpha", "beta": "beta"} {
		r, ok := engines.Lookup(name)
		if !ok || r.Name != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, r.Name, ok, want)
		}
	}
	for _, name := range []string{"", "gamma", "alpha "} {
		if r, ok := engines.Lookup(name); ok {
			t.Errorf("Lookup(%q) = %q", name, r.Name)
		}
	}
	var names []string
	for _, r := range engines.Registered() {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"alpha", "beta"}) {
		t.Errorf("Registered() = %v", names)
	}
	if got, want := engines.Known(), `"alpha" (or "AlphaDB" or "alpha-sql"), "beta"`; got != want {
		t.Errorf("Known() = %s, want %s", got, want)
	}
	if got := engines.ToolDirSettings(); !slices.Equal(got, []string{"alpha_bin_dir"}) {
		t.Errorf("ToolDirSettings() = %v", got)
	}
}

func TestNew(t *testing.T) {
	e, err := engines.New("AlphaDB")
	if err != nil || e.Name() != "alpha" {
		t.Errorf("New(AlphaDB) = %v, %v", e, err)
	}
	// Known but not built: the engine's own words, permanent.
	_, err = engines.New("beta")
	if err == nil || err.Error() != `engine "beta" is not supported by this build yet` ||
		!errors.Is(err, fault.ErrPermanent) || errors.Is(err, engines.ErrUnknownEngine) {
		t.Errorf("New(beta): %v", err)
	}
	_, err = engines.New("gamma")
	if !errors.Is(err, engines.ErrUnknownEngine) || !errors.Is(err, fault.ErrPermanent) ||
		!strings.Contains(err.Error(), `engine "gamma" is not supported by this build (supported: "alpha"`) {
		t.Errorf("New(gamma): %v", err)
	}
}

func TestRegisterRefusesTakenNames(t *testing.T) {
	ok := func() (engines.Engine, error) { return nil, nil }
	parse := func(string) (engines.DSN, error) { return engines.DSN{}, nil }
	for _, r := range []engines.Registration{
		{Name: "alpha", New: ok, ParseDSN: parse},
		{Name: "BETA", New: ok, ParseDSN: parse},
		{Name: "delta", Aliases: []string{"alphadb"}, New: ok, ParseDSN: parse},
		{Name: "epsilon", New: ok},
		{Name: "zeta", ParseDSN: parse},
		{New: ok, ParseDSN: parse},
	} {
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
	for _, name := range []string{"delta", "epsilon", "zeta"} {
		if _, ok := engines.Lookup(name); ok {
			t.Errorf("%s was registered", name)
		}
	}
}

func TestParseDSN(t *testing.T) {
	d, err := engines.ParseDSN("AlphaDB", "alpha://db1/sales")
	if err != nil || d.Server != "db1:7000" || d.Database != "sales" {
		t.Errorf("ParseDSN = %+v, %v", d, err)
	}
	if got := engines.ServerOf("alpha", "alpha://db1:7001/sales"); got != "db1:7001" {
		t.Errorf("ServerOf = %q", got)
	}
	if got := engines.ServerOf("alpha", "alpha://nodb"); got != "" {
		t.Errorf("ServerOf(a DSN that does not parse) = %q", got)
	}
	if _, err := engines.ParseDSN("gamma", "x"); !errors.Is(err, engines.ErrUnknownEngine) {
		t.Errorf("ParseDSN(gamma): %v", err)
	}
	// The parser quotes the DSN; the registry blanks out the password.
	for _, dsn := range []string{"alpha://u:Secr3tPw@db1", "alpha://db1?password=Secr3tPw", "u:Secr3tPw@db1", "password = 'Secr3tPw'"} {
		_, err := engines.ParseDSN("alpha", dsn)
		if err == nil || strings.Contains(err.Error(), "Secr3tPw") || !strings.Contains(err.Error(), "***") {
			t.Errorf("ParseDSN(%q): %v", dsn, err)
		}
	}
}
