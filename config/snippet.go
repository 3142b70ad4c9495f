package config

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	wordwrap "github.com/mitchellh/go-wordwrap"
)

// What a diagnostic shows, at most. A 10 MB string value used to print 20
// MB of error: the whole line as the snippet, and the value again in the
// detail. Now a snippet line shows snippetWidth bytes around the subject,
// with "…" where it is cut, a subject over many lines its first and last
// lines, and summary and detail at most maxDetail bytes.
const (
	snippetWidth = 120
	snippetLead  = 40 // bytes shown before the subject on a cut line
	snippetLines = 7
	maxDetail    = 2000
	// mask stands for a secret in a snippet: fixed, so that it says
	// nothing about the secret's length.
	mask = "********"
)

// writeDiagnostic writes d the way hcl.NewDiagnosticTextWriter does (the same
// layout, colours and word wrap), with the snippet cut and masked.
// lines caches each file's line starts across the diagnostics of one call.
func writeDiagnostic(w io.Writer, files map[string]*hcl.File, lines map[*hcl.File][]int, masks []hcl.Range, d *hcl.Diagnostic, width int, color bool) error {
	var colorCode, hl, reset string
	if color {
		switch d.Severity {
		case hcl.DiagError:
			colorCode = "\x1b[31m"
		case hcl.DiagWarning:
			colorCode = "\x1b[33m"
		}
		reset, hl = "\x1b[0m", "\x1b[1;4m"
	}
	sev := "???????"
	switch d.Severity {
	case hcl.DiagError:
		sev = "Error"
	case hcl.DiagWarning:
		sev = "Warning"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s%s: %s\n\n", colorCode, sev, reset, cut(d.Summary, maxDetail))
	if d.Subject != nil {
		file := files[d.Subject.Filename]
		if file == nil || file.Bytes == nil {
			fmt.Fprintf(&b, "  on %s line %d:\n  (source code not available)\n\n", d.Subject.Filename, d.Subject.Start.Line)
		} else {
			if lines[file] == nil {
				lines[file] = lineStarts(file.Bytes)
			}
			writeSnippet(&b, file, lines[file], masks, d, hl, reset)
		}
	}
	if d.Detail != "" {
		detail := cut(d.Detail, maxDetail)
		if width > 0 {
			detail = wordwrap.WrapString(detail, uint(width))
		}
		fmt.Fprintf(&b, "%s\n\n", detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSnippet(b *strings.Builder, file *hcl.File, starts []int, masks []hcl.Range, d *hcl.Diagnostic, hl, reset string) {
	src := file.Bytes
	snip, high := *d.Subject, *d.Subject
	if d.Context != nil {
		snip = hcl.RangeOver(snip, *d.Context)
	}
	// An empty range is shown as one character, as hcl does.
	if snip.Empty() {
		snip.End.Byte++
	}
	if high.Empty() {
		high.End.Byte++
	}
	context := ""
	if cs, ok := file.Nav.(interface{ ContextString(int) string }); ok {
		if c := cs.ContextString(d.Subject.Start.Byte); c != "" {
			context = ", in " + cut(c, snippetWidth)
		}
	}
	fmt.Fprintf(b, "  on %s line %d%s:\n", d.Subject.Filename, d.Subject.Start.Line, context)

	first := lineOf(starts, max(snip.Start.Byte, 0))
	last := lineOf(starts, max(snip.End.Byte-1, snip.Start.Byte, 0))
	for n := first; n <= last && n < len(starts); n++ {
		if last-first+1 > snippetLines && n == first+snippetLines/2 {
			b.WriteString("     …\n")
			n = last - snippetLines/2
		}
		ls, le := starts[n], len(src)
		if n+1 < len(starts) {
			le = starts[n+1] - 1 // the '\n'
		}
		if le > ls && src[le-1] == '\r' {
			le--
		}
		fmt.Fprintf(b, "%4d: %s\n", n+1, showLine(src, ls, le, high, masks, hl, reset))
	}
	b.WriteString("\n")
}

// showLine renders src[ls:le] with high highlighted and masks replaced by
// mask, cut to about snippetWidth bytes around the highlight.
func showLine(src []byte, ls, le int, high hcl.Range, masks []hcl.Range, hl, reset string) string {
	hs, he := max(high.Start.Byte, ls), min(high.End.Byte, le)
	ws, we := ls, le
	if we-ws > snippetWidth {
		if hs < he && hs-snippetLead > ls {
			ws = hs - snippetLead
		}
		we = min(le, ws+snippetWidth)
	}
	// Never start or end inside a masked range or a UTF-8 sequence.
	for _, m := range masks {
		if m.Start.Byte < ws && ws < m.End.Byte {
			ws = max(m.Start.Byte, ls)
		}
		if m.Start.Byte < we && we < m.End.Byte {
			we = min(m.End.Byte, le)
		}
	}
	for ws > ls && !utf8.RuneStart(src[ws]) {
		ws--
	}
	for we < le && !utf8.RuneStart(src[we]) {
		we++
	}

	var out strings.Builder
	if ws > ls {
		out.WriteString("…")
	}
	on := false
	for i := ws; i < we; {
		if want := i >= hs && i < he; want != on && hl != "" {
			if want {
				out.WriteString(hl)
			} else {
				out.WriteString(reset)
			}
			on = want
		}
		if end, ok := maskAt(masks, i); ok {
			quoted := src[i] == '"' && end-i > 1 && src[end-1] == '"'
			if quoted {
				out.WriteByte('"')
			}
			out.WriteString(mask)
			if quoted {
				out.WriteByte('"')
			}
			i = max(end, i+1)
			continue
		}
		out.WriteByte(src[i])
		i++
	}
	if on {
		out.WriteString(reset)
	}
	if we < le {
		out.WriteString("…")
	}
	return out.String()
}

// maskAt reports whether a masked range starts at byte i (or covers it,
// when several overlap), and where the masking ends.
func maskAt(masks []hcl.Range, i int) (int, bool) {
	end, ok := 0, false
	for _, m := range masks {
		if m.Start.Byte <= i && i < m.End.Byte {
			end, ok = max(end, m.End.Byte), true
		}
	}
	// Overlapping masks join into one.
	for grown := ok; grown; {
		grown = false
		for _, m := range masks {
			if m.Start.Byte <= end && end < m.End.Byte {
				end, grown = m.End.Byte, true
			}
		}
	}
	return end, ok
}

// lineStarts returns the byte offset of each line of src.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the index in starts of the line holding byte off.
func lineOf(starts []int, off int) int {
	return sort.Search(len(starts), func(i int) bool { return starts[i] > off }) - 1
}

// cut shortens s to about n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
