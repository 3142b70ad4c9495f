package config

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	// A daemon built with CGO_ENABLED=0 may run where /usr/share/zoneinfo is
	// missing (a minimal container); daemon.timezone must still load.
	_ "time/tzdata"
)

// DefaultConfigPath is where the policy file lives when neither --config nor
// DBOPS_CONFIG says otherwise.
const DefaultConfigPath = "/etc/dbopsd/config.hcl"

// DefaultPath returns $DBOPS_CONFIG, or DefaultConfigPath when it is unset.
func DefaultPath() string {
	if p := os.Getenv("DBOPS_CONFIG"); p != "" {
		return p
	}
	return DefaultConfigPath
}

// Load reads, decodes and validates the policy file at path.
//
// On any error the Config is nil: a configuration is accepted whole or not
// at all. Warnings (such as a secret written literally in the file) come with
// a non-nil Config. The diagnostics carry the source they point into, so
// PrintDiagnostics can show snippets without being handed the file again.
func Load(path string) (*Config, hcl.Diagnostics) {
	// A FIFO or device given as the policy file is refused, not waited on.
	src, err := readRegular(path, MaxPolicyFile)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read the configuration file",
			Detail:   err.Error() + ".",
		}}
	}
	return Parse(src, path)
}

// Parse decodes and validates a policy file held in memory; filename names it
// in diagnostics, and relative paths in file() are taken from its directory.
// Like Load, it returns a nil Config when there is any error.
//
// No input ends the process: a file over MaxPolicyFile or nesting deeper
// than MaxNesting is refused before hcl sees it (a stack overflow cannot be
// recovered), and a panic anywhere in parsing or validation is returned as
// an error diagnostic, so a bad SIGHUP keeps the agent and its old policy.
func Parse(src []byte, filename string) (cfg *Config, diags hcl.Diagnostics) {
	defer func() {
		if p := recover(); p != nil {
			cfg, diags = nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot read the configuration file",
				Detail:   fmt.Sprintf("%s: the policy loader failed on this input (%s); please report it with the file.", filename, cut(fmt.Sprint(p), 200)),
			}}
		}
	}()
	if len(src) > MaxPolicyFile {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Configuration file too large",
			Detail:   fmt.Sprintf("%s is %d bytes; a policy file may be at most %d bytes.", filename, len(src), MaxPolicyFile),
		}}
	}
	if d := checkNesting(src, filename); d != nil {
		return nil, withSource(hcl.Diagnostics{d}, &hcl.File{Bytes: src}, nil)
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if file == nil {
		file = &hcl.File{Bytes: src}
	}
	if diags.HasErrors() {
		// Stop at the first parse error: decoding a half-parsed file only
		// adds noise that hides the real mistake.
		return nil, withSource(limitDiagnostics(diags), file, nil)
	}

	d := newDecoder(filename, src, nil)
	d.ctx = evalContext(filepath.Dir(filename), &d.sourced)
	cfg = d.decodeFile(file.Body)
	d.validate(cfg, file.Body)
	d.scrub()
	diags = append(diags, d.diags...)
	sortDiagnostics(diags)
	diags = limitDiagnostics(diags)
	diags = withSource(diags, file, d.masks)
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// sortDiagnostics orders diagnostics by where they point, so the DBA reads
// them top to bottom; those without a place come first.
func sortDiagnostics(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil && b.Subject == nil:
			return 0
		case a.Subject == nil:
			return -1
		case b.Subject == nil:
			return 1
		}
		return cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte)
	})
}

// maxDiagnostics is how many diagnostics Parse returns: a generated file
// with 170,000 repeated attributes made as many errors, megabytes of them.
const maxDiagnostics = 100

// limitDiagnostics keeps the first maxDiagnostics (in file order) and says
// how many more there were, as an error when any of them was one.
func limitDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) <= maxDiagnostics {
		return diags
	}
	rest := diags[maxDiagnostics:]
	sev := hcl.DiagWarning
	if rest.HasErrors() {
		sev = hcl.DiagError
	}
	return append(diags[:maxDiagnostics:maxDiagnostics], &hcl.Diagnostic{
		Severity: sev,
		Summary:  "Too many problems",
		Detail:   fmt.Sprintf("%d more errors and warnings are not shown; fix the ones above first.", len(rest)),
	})
}
