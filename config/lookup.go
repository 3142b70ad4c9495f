package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNotDefined is wrapped by the lookup errors below, so callers can tell a
// mistyped name from other failures.
var ErrNotDefined = errors.New("not defined in the policy file")

// Database returns the database block with the given name.
func (c *Config) Database(name string) (*Database, error) {
	return lookup(c, "database", name, c.Databases)
}

// RestoreTarget returns the restore_target block with the given name.
func (c *Config) RestoreTarget(name string) (*RestoreTarget, error) {
	return lookup(c, "restore_target", name, c.RestoreTargets)
}

// Storage returns the storage block with the given name.
func (c *Config) Storage(name string) (*Storage, error) {
	return lookup(c, "storage", name, c.Storages)
}

// PolicyFor returns the policy of db. Validation guarantees it exists for
// every database of a loaded Config; for a db built by hand it may be nil.
func (c *Config) PolicyFor(db *Database) *Policy {
	if db == nil {
		return nil
	}
	return c.Policies[db.Policy]
}

// DatabaseNames returns the database names in sorted order, critical ones
// first: the order in which the daemon queues work that must wait.
func (c *Config) DatabaseNames() []string {
	names := sortedKeys(c.Databases)
	crit := make([]string, 0, len(names))
	rest := make([]string, 0, len(names))
	for _, n := range names {
		if c.Databases[n].Critical {
			crit = append(crit, n)
		} else {
			rest = append(rest, n)
		}
	}
	return append(crit, rest...)
}

func lookup[T any](c *Config, kind, name string, m map[string]*T) (*T, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	names := sortedKeys(m)
	known := "none is defined"
	if len(names) > 0 {
		known = "defined: " + strings.Join(names, ", ")
	}
	where := ""
	if c.Path != "" {
		where = " in " + c.Path
	}
	return nil, fmt.Errorf("%s %q: %w%s (%s)%s", kind, name, ErrNotDefined, where, known, suggest(name, names))
}

// RepoStorage is the storage the repository is read from: the repository's
// own storage, or override (one of its mirrors) when set.
func (c *Config) RepoStorage(override string) (string, error) {
	if override == "" || override == c.Repository.Storage || slices.Contains(c.Repository.Mirrors, override) {
		return cmp.Or(override, c.Repository.Storage), nil
	}
	return "", fmt.Errorf("--storage %q is neither the repository's storage (%q) nor one of its mirrors %v", override, c.Repository.Storage, c.Repository.Mirrors)
}
