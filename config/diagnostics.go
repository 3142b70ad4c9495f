package config

import (
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"
)

// sourceExtra rides in hcl.Diagnostic.Extra so that a diagnostic carries the
// file it points into: PrintDiagnostics needs nothing but the diagnostics.
// It wraps whatever Extra hcl had set (hcl.DiagnosticExtra still finds it).
type sourceExtra struct {
	file  *hcl.File
	inner any
}

func (e *sourceExtra) UnwrapDiagnosticExtra() any { return e.inner }

// withSource attaches to each diagnostic a copy of file whose bytes have the
// masked ranges blanked out with asterisks (same length, so every range still
// lines up): a snippet never shows a literal secret or a DSN's password.
func withSource(diags hcl.Diagnostics, file *hcl.File, masks []hcl.Range) hcl.Diagnostics {
	src := file.Bytes
	if len(masks) > 0 {
		src = append([]byte(nil), src...)
		for _, m := range masks {
			for i := max(m.Start.Byte, 0); i < m.End.Byte && i < len(src); i++ {
				if src[i] != '"' && src[i] != '\n' && src[i] != '\r' {
					src[i] = '*'
				}
			}
		}
	}
	shown := &hcl.File{Body: file.Body, Bytes: src, Nav: file.Nav}
	for _, d := range diags {
		d.Extra = &sourceExtra{file: shown, inner: d.Extra}
	}
	return diags
}

// PrintDiagnostics writes diags to w the way hcl does: severity, summary,
// file:line, the source snippet with the subject highlighted, and detail.
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
		if x, ok := hcl.DiagnosticExtra[*sourceExtra](d); ok && d.Subject != nil {
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
	tw := hcl.NewDiagnosticTextWriter(w, all, uint(width), color)
	for _, d := range diags {
		// A compiler-style first line (file:line:col) that editors and grep
		// understand, then hcl's block with the snippet.
		if d.Subject != nil {
			sev := "error"
			if d.Severity == hcl.DiagWarning {
				sev = "warning"
			}
			if _, err := fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, sev, d.Summary); err != nil {
				return err
			}
		}
		if err := tw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}
