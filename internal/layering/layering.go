// Package layering holds the import rules of dbopsd and the check that
// enforces them: its test lists every package of the module with `go list`
// and fails on a forbidden edge. The layers, lowest first, are described in
// ARCHITECTURE.md ("Layers"); the rules below are what keeps them layers.
package layering

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Module is the import path every rule is relative to.
const Module = "github.com/dbopsd/dbopsd"

// A Rule forbids packages matching From (and not Except) to import
// packages matching Deny (and not Allow). Patterns are package paths
// relative to the module; "x/..." matches x and everything under it.
type Rule struct {
	Why    string
	From   []string
	Except []string
	Deny   []string
	Allow  []string
}

// above lists, for a layer, what sits above it.
var (
	aboveEngines = []string{"storage/...", "repository/...", "catalog/...", "backup/...", "restore/...",
		"mirror/...", "prune/...", "history/...", "site/...", "config/...", "schedule/...", "request/...", "register/...",
		"drill/...", "notify/...", "diagnostics/...", "maintenance/...", "dictionary/...", "volume/...", "daemon/...", "api/...", "cmd/..."}
	aboveRepository = []string{"catalog/...", "backup/...", "restore/...", "mirror/...", "prune/...", "history/...",
		"site/...", "config/...", "schedule/...", "request/...", "drill/...", "notify/...", "daemon/...",
		"api/...", "cmd/..."}
	aboveJobs = []string{"site/...", "drill/...", "daemon/...", "api/...", "cmd/...", "schedule/...", "notify/..."}
)

// Rules are the layering rules.
var Rules = []Rule{
	{
		Why:  "leaf packages import nothing of the module",
		From: []string{"internal/fault", "internal/atomicfile", "secret", "i18n", "when", "internal/humanize", "engines/dictmodel"},
		Deny: []string{"..."},
	},
	{
		Why:  "engines (the contract, the adapters, the conformance suite) sit below storage and the repository",
		From: []string{"engines/..."},
		Deny: aboveEngines,
	},
	{
		Why:  "reconcile sits beside the engines (their adapters implement its capability): it imports the engine contract and leaves only",
		From: []string{"reconcile/..."},
		Deny: append([]string{"engines/postgres/...", "engines/mysql/...", "engines/mssql/..."}, aboveEngines...),
	},
	{
		Why:  "storage knows nothing of what it stores",
		From: []string{"storage/..."},
		Deny: append([]string{"engines/..."}, aboveEngines...),
		// storage/... itself is in aboveEngines; a backend imports the contract.
		Allow: []string{"storage/..."},
	},
	{
		Why:  "the repository format sits below the catalog, jobs and the policy",
		From: []string{"repository/..."},
		Deny: aboveRepository,
	},
	{
		Why:   "the catalog indexes the repository and knows no job",
		From:  []string{"catalog/..."},
		Deny:  aboveRepository,
		Allow: []string{"catalog/..."},
	},
	{
		Why:  "backup and restore run jobs; who schedules or composes them sits above",
		From: []string{"backup/...", "restore/...", "mirror/...", "prune/...", "history/...", "maintenance/..."},
		Deny: aboveJobs,
	},
	{
		// prune is not among them: it reads retention from the policy.
		Why:  "backup, restore, mirror and history run what site composed from the policy; they do not read it",
		From: []string{"backup/...", "restore/...", "mirror/...", "history/..."},
		Deny: []string{"config/..."},
	},
	{
		Why:  "the dictionary and the volume register read engines, the catalog and history; site and the daemon compose them",
		From: []string{"dictionary/...", "volume/..."},
		Deny: append([]string{"config/...", "repository/..."}, aboveJobs...),
	},
	{
		Why:  "diagnostics analyses what engines collect; who schedules or composes its runs sits above",
		From: []string{"diagnostics/..."},
		Deny: aboveJobs,
	},
	{
		Why:  "the diagnostics implement maintenance's Proposer from their findings: maintenance does not read the diagnostics",
		From: []string{"maintenance/..."},
		Deny: []string{"diagnostics/..."},
	},
	{
		Why:  "the diagnostics model (engines/diagmodel) is a leaf both the adapters and diagnostics import",
		From: []string{"engines/diagmodel"},
		Deny: []string{"..."},
	},
	{
		Why:  "the policy (config) is read by the layers above; it imports no storage, repository or job",
		From: []string{"config/..."},
		Deny: []string{"storage/...", "repository/...", "catalog/...", "backup/...", "restore/...", "mirror/...",
			"prune/...", "site/...", "drill/...", "daemon/...", "api/...", "cmd/..."},
	},
	{
		Why:  "report/chartfont is a leaf the policy loader checks fonts with; the rest of report renders and sends, above the policy",
		From: []string{"report/chartfont"},
		Deny: []string{"..."},
	},
	{
		Why:    "the report reads what the jobs recorded; only site, the daemon and the CLI run it (config checks its font with report/chartfont alone)",
		From:   []string{"..."},
		Except: append([]string{"report/...", "site/...", "daemon/...", "cmd/..."}, testHelpers...),
		Deny:   []string{"report/..."},
		Allow:  []string{"report/chartfont"},
	},
	{
		Why:  "the report reads volume samples, schema changes and dictionaries through interfaces it owns; site adapts dictionary and volume to them",
		From: []string{"report/..."},
		Deny: []string{"dictionary/...", "volume/..."},
	},
	{
		Why:  "site composes; only the daemon, the API and the CLI sit above it",
		From: []string{"site/..."},
		Deny: []string{"daemon/...", "api/...", "cmd/..."},
	},
	{
		Why:  "site composes drills, schedules, alerts, the register and requests; they do not reach back into it",
		From: []string{"drill/...", "schedule/...", "notify/...", "register/...", "request/..."},
		Deny: []string{"site/..."},
	},
	{
		Why:    "an engine adapter is registered in one place, never imported by the code that uses engines",
		From:   []string{"..."},
		Except: []string{"engines/all/...", "site/...", "engines/postgres/...", "engines/mysql/...", "engines/mssql/..."},
		Deny:   []string{"engines/postgres/...", "engines/mysql/...", "engines/mssql/..."},
	},
	{
		Why:    "production code imports no test helper",
		From:   []string{"..."},
		Except: testHelpers,
		Deny:   testHelpers,
	},
}

// testHelpers are the packages only tests and other helpers import.
var testHelpers = []string{"*test", "internal/harness/...", "internal/testca/...", "internal/testlog/...",
	"internal/pipelinetest/...", "internal/policytest/...", "internal/repotest/...", "internal/layering"}

// match reports whether the package rel (relative to the module) matches
// pattern: "..." matches everything, "x/..." x and below, "*test" a
// package whose last element ends in "test", anything else exactly.
func match(pattern, rel string) bool {
	switch {
	case pattern == "...":
		return true
	case strings.HasSuffix(pattern, "/..."):
		p := strings.TrimSuffix(pattern, "/...")
		return rel == p || strings.HasPrefix(rel, p+"/")
	case pattern == "*test":
		return strings.HasSuffix(path.Base(rel), "test")
	}
	return rel == pattern
}

func matchAny(patterns []string, rel string) bool {
	for _, p := range patterns {
		if match(p, rel) {
			return true
		}
	}
	return false
}

// Check returns the forbidden edges of graph (package -> its imports, full
// import paths), one line each, sorted. Imports outside the module are
// ignored.
func Check(graph map[string][]string, rules []Rule) []string {
	var bad []string
	for pkg, imports := range graph {
		from, ok := relative(pkg)
		if !ok {
			continue
		}
		for _, imp := range imports {
			to, ok := relative(imp)
			if !ok || to == from {
				continue
			}
			for _, r := range rules {
				if matchAny(r.From, from) && !matchAny(r.Except, from) && matchAny(r.Deny, to) && !matchAny(r.Allow, to) {
					bad = append(bad, fmt.Sprintf("%s imports %s: %s", from, to, r.Why))
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func relative(importPath string) (string, bool) {
	if importPath == Module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(importPath, Module+"/")
	return rel, ok
}
