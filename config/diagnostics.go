package config

import (
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"
)

// sourceExtra rides in hcl.Diagnostic.Extra so that a diagnostic carries the
// file it points into and the ranges in it that hold secrets: PrintDiagnostics
// needs nothing but the diagnostics. It wraps whatever Extra hcl had set
// (hcl.DiagnosticExtra still finds it).
type sourceExtra struct {
	file  *hcl.File
	masks []hcl.Range
	inner any
}

func (e *sourceExtra) UnwrapDiagnosticExtra() any { return e.inner }

// withSource attaches file and the masked ranges to each diagnostic: a
// snippet shows a masked range (a literal secret, a DSN's password) as
// mask, whatever the secret's length.
func withSource(diags hcl.Diagnostics, file *hcl.File, masks []hcl.Range) hcl.Diagnostics {
	for _, d := range diags {
		d.Extra = &sourceExtra{file: file, masks: masks, inner: d.Extra}
	}
	return diags
}

// PrintDiagnostics writes diags to w the way hcl does: severity, summary,
// file:line, the source snippet with the subject highlighted, and detail;
// a long line is cut around the subject, and secrets are masked.
// Colour and wrapping to the terminal's width are used only when w is a
// terminal (and NO_COLOR is unset). The snippets come from the diagnostics
// themselves, so this is the one call the CLI needs:
//
//	cfg, diags := config.Load(path)
//	config.PrintDiagnostics(os.Stderr, diags)
//	if diags.HasErrors() { return ... }
func PrintDiagnostics(w io.Writer, diags hcl.Diagnostics) error {
	return WriteDiagnostics(w, nil, diags)
}

// WriteDiagnostics is PrintDiagnostics with extra files for diagnostics that
// did not come from Load or Parse (files maps filename to file); the sources
// Load and Parse attached take precedence, since their secrets are masked.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) error {
	all := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		all[name] = f
	}
	for _, d := range diags {
		if x, ok := hcl.DiagnosticExtra[*sourceExtra](d); ok && d.Subject != nil && x.file != nil {
			all[d.Subject.Filename] = x.file
		}
	}
	width, color := 0, false
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		color = os.Getenv("NO_COLOR") == ""
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
			width = cols
		}
	}
	lines := map[*hcl.File][]int{}
	for _, d := range diags {
		// A compiler-style first line (file:line:col) that editors and grep
		// understand, then hcl's block with the snippet.
		if d.Subject != nil {
			sev := "error"
			if d.Severity == hcl.DiagWarning {
				sev = "warning"
			}
			if _, err := fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, sev, cut(d.Summary, maxDetail)); err != nil {
				return err
			}
		}
		var masks []hcl.Range
		if x, ok := hcl.DiagnosticExtra[*sourceExtra](d); ok {
			masks = x.masks
		}
		if err := writeDiagnostic(w, all, lines, masks, d, width, color); err != nil {
			return err
		}
	}
	return nil
}
