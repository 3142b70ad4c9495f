package engines

import (
	"github.com/dbopsd/dbopsd/internal/fault"

	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/dbopsd/dbopsd/secret"
)

// Registration is what an adapter tells the rest of dbopsd about its
// engine: everything outside the adapter's package needs to know to accept
// the engine in a policy file, group its databases by server, find its
// client tools and build it. An adapter registers once, from an init
// function in its engine.go; engines/all imports every adapter (doc.go).
type Registration struct {
	// Name is the engine's name in policy files, the catalog and the
	// repository ("postgres", "mysql", "mssql"). Engine.Name returns it.
	Name string
	// Aliases are other names a policy may write ("postgresql", "mariadb",
	// "sqlserver"); the policy loader replaces them with Name. Names and
	// aliases match without regard to case.
	Aliases []string
	// New returns the adapter. An engine this build knows only by name (its
	// policy blocks and DSNs validate, but it cannot back up yet) returns an
	// error that says so.
	New func() (Engine, error)
	// ParseDSN reads a DSN written for this engine in a policy file. Its
	// errors may quote parts of the DSN: ParseDSN (the function of this
	// package) blanks out anything that may be a password before anyone
	// sees them.
	ParseDSN func(dsn string) (DSN, error)
	// ToolDirSetting names the setting of the policy's daemon { } block
	// that says where the engine's client tools live ("pg_bin_dir"). Its
	// value reaches the adapter as Conn.BinDir. Empty: the engine runs no
	// client tools, and the daemon block has no such setting.
	ToolDirSetting string
}

// DSN is what a DSN says that matters outside the adapter.
type DSN struct {
	// Server is the server's identity, host:port or a socket path, with
	// the engine's default port filled in: what daemon.max_per_server
	// groups databases by and what the scratch ledger records. "" when the
	// DSN leaves the server to the client library's defaults. It holds no
	// secret.
	Server string
	// Database is the database the DSN names, "" when it names none.
	Database string
	// Password is a password written into the DSN itself, empty when there
	// is none. A policy refuses such a DSN: the password belongs in
	// password = env(...), where it is kept out of logs.
	Password secret.Value
}

// ErrUnknownEngine is wrapped by the errors for an engine name that no
// registered adapter answers to.
var ErrUnknownEngine = errors.New("unknown engine")

var registry struct {
	sync.RWMutex
	byName map[string]*Registration // names and aliases, lower case
	all    []*Registration          // sorted by Name
}

// Register makes an engine known. It panics on a registration without a
// name, constructor or DSN parser, and on a name or alias that is already
// taken: both are mistakes in the program, found at start-up.
func Register(r Registration) {
	if r.Name == "" || r.New == nil || r.ParseDSN == nil {
		panic(fmt.Sprintf("engines: registration of %q lacks a name, New or ParseDSN", r.Name))
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.byName == nil {
		registry.byName = map[string]*Registration{}
	}
	names := append([]string{r.Name}, r.Aliases...)
	for _, n := range names {
		if prev, ok := registry.byName[strings.ToLower(n)]; ok {
			panic(fmt.Sprintf("engines: %q is registered twice (by %s and %s)", n, prev.Name, r.Name))
		}
	}
	reg := &r
	for _, n := range names {
		registry.byName[strings.ToLower(n)] = reg
	}
	registry.all = append(registry.all, reg)
	sort.Slice(registry.all, func(i, j int) bool { return registry.all[i].Name < registry.all[j].Name })
}

// Lookup returns the registration of the engine a policy calls name (its
// name or an alias, in any case).
func Lookup(name string) (Registration, bool) {
	registry.RLock()
	defer registry.RUnlock()
	r, ok := registry.byName[strings.ToLower(name)]
	if !ok {
		return Registration{}, false
	}
	return *r, true
}

// Registered returns every registration, sorted by name.
func Registered() []Registration {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Registration, len(registry.all))
	for i, r := range registry.all {
		out[i] = *r
	}
	return out
}

// Known describes the registered engines for a message:
// `"mssql" (or "sqlserver"), "mysql" (or "mariadb"), "postgres" (or "postgresql")`.
func Known() string {
	var parts []string
	for _, r := range Registered() {
		s := fmt.Sprintf("%q", r.Name)
		if len(r.Aliases) > 0 {
			s += " (or " + quoteJoin(r.Aliases, " or ") + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		// The program links no adapter: a binary or test that forgot to
		// import engines/all.
		return "none: this program registers no engine (import engines/all)"
	}
	return strings.Join(parts, ", ")
}

// ToolDirSettings returns the daemon settings that name client-tool
// directories, sorted.
func ToolDirSettings() []string {
	var out []string
	for _, r := range Registered() {
		if r.ToolDirSetting != "" && !slices.Contains(out, r.ToolDirSetting) {
			out = append(out, r.ToolDirSetting)
		}
	}
	sort.Strings(out)
	return out
}

// New returns the adapter of the engine a policy calls name. The error says
// when this build has no such engine, or knows it but cannot run it yet.
// Either is permanent.
func New(name string) (Engine, error) {
	r, ok := Lookup(name)
	if !ok {
		return nil, fault.Permanent(fmt.Errorf("engine %q is not supported by this build (supported: %s): %w", name, Known(), ErrUnknownEngine))
	}
	e, err := r.New()
	if err != nil {
		return nil, fault.Permanent(err)
	}
	return e, nil
}

// ParseDSN reads dsn as a DSN of the engine a policy calls engine. Its
// errors never contain the password, even when the DSN does not parse far
// enough to say where the password is.
func ParseDSN(engine, dsn string) (DSN, error) {
	r, ok := Lookup(engine)
	if !ok {
		return DSN{}, fmt.Errorf("engine %q: %w", engine, ErrUnknownEngine)
	}
	d, err := r.ParseDSN(dsn)
	if err != nil {
		return DSN{}, errors.New(scrub(err.Error(), dsn))
	}
	return d, nil
}

// ServerOf is the server identity (DSN.Server) of a DSN of engine, or ""
// when the DSN does not parse (a loaded policy has refused those).
func ServerOf(engine, dsn string) string {
	d, _ := ParseDSN(engine, dsn)
	return d.Server
}

func quoteJoin(ss []string, sep string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, sep)
}
