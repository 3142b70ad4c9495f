package dictionary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// maxDiagramColumns caps the columns drawn in one box; a wide table's box
// ends with "…".
const maxDiagramColumns = 25

// DotPath is the Graphviz program Diagrams runs; found on PATH.
var DotPath = "dot"

// Diagrams draws, for every table with foreign keys in either direction,
// the table and its direct neighbours as SVG (without the XML prolog, so it
// embeds in HTML). All pictures come from one run of dot, which reads the
// graphs one after another: a per-table process would cost more than
// reading the catalog. found is false when dot is not installed, which is
// not an error: the dictionary says the diagrams were left out.
func Diagrams(ctx context.Context, d *Dictionary) (svgs map[Ref]string, found bool, err error) {
	path, err := exec.LookPath(DotPath)
	if err != nil {
		return nil, false, nil
	}
	var in bytes.Buffer
	var order []Ref
	for i := range d.Tables {
		t := &d.Tables[i]
		ns := neighbours(t)
		if len(ns) == 0 {
			continue
		}
		order = append(order, t.Ref())
		fmt.Fprintf(&in, "digraph g%d {\n graph [rankdir=LR, fontname=\"sans-serif\"];\n node [shape=plaintext, fontname=\"sans-serif\", fontsize=10];\n edge [fontname=\"sans-serif\", fontsize=9];\n", len(order))
		ids := map[Ref]string{t.Ref(): "n0"}
		in.WriteString(" n0 [label=<" + box(t, true) + ">];\n")
		for k, r := range ns {
			id := fmt.Sprintf("n%d", k+1)
			ids[r] = id
			if nt := Find(d, r); nt != nil {
				in.WriteString(" " + id + " [label=<" + box(nt, false) + ">];\n")
			} else {
				in.WriteString(" " + id + " [label=<" + htmlEsc(r.String()) + ">];\n")
			}
		}
		for _, fk := range t.ForeignKeys {
			fmt.Fprintf(&in, " n0 -> %s [label=<%s>];\n", ids[ref(fk.RefSchema, fk.RefTable)], htmlEsc(columnsOf(fk.Columns)))
		}
		for _, fk := range t.ReferencedBy {
			if ref(fk.Schema, fk.Table) == t.Ref() {
				continue // a self-reference, drawn above
			}
			fmt.Fprintf(&in, " %s -> n0 [label=<%s>];\n", ids[ref(fk.Schema, fk.Table)], htmlEsc(columnsOf(fk.Columns)))
		}
		in.WriteString("}\n")
	}
	if len(order) == 0 {
		return map[Ref]string{}, true, nil
	}
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin = &in
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, true, fmt.Errorf("drawing the relation diagrams with dot: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	docs := strings.Split(out.String(), "<?xml")
	svgs = map[Ref]string{}
	for _, s := range docs {
		i := strings.Index(s, "<svg")
		if i < 0 {
			continue
		}
		if len(svgs) == len(order) {
			return nil, true, errors.New("dot drew more pictures than it was given graphs")
		}
		svgs[order[len(svgs)]] = strings.TrimSpace(s[i:])
	}
	if len(svgs) != len(order) {
		return nil, true, fmt.Errorf("dot drew %d pictures of %d graphs", len(svgs), len(order))
	}
	return svgs, true, nil
}

// box is a table as an HTML-like Graphviz label: its name, then its columns
// (the centre table) or the columns of its keys (a neighbour).
func box(t *Table, centre bool) string {
	var b strings.Builder
	bg := "#e8eef7"
	if centre {
		bg = "#c9daf0"
	}
	fmt.Fprintf(&b, `<table border="0" cellborder="1" cellspacing="0" cellpadding="3"><tr><td bgcolor="%s"><b>%s</b></td></tr>`, bg, htmlEsc(t.Ref().String()))
	keys := map[string]bool{}
	if !centre {
		for _, fk := range t.ForeignKeys {
			for _, c := range fk.Columns {
				keys[c] = true
			}
		}
		for _, fk := range t.ReferencedBy {
			for _, c := range fk.RefColumns {
				keys[c] = true
			}
		}
	}
	n := 0
	for _, c := range t.Columns {
		if !centre && !keys[c.Name] {
			continue
		}
		if n == maxDiagramColumns {
			b.WriteString(`<tr><td align="left">…</td></tr>`)
			break
		}
		fmt.Fprintf(&b, `<tr><td align="left">%s <font color="#666666">%s</font></td></tr>`, htmlEsc(c.Name), htmlEsc(c.Type))
		n++
	}
	b.WriteString("</table>")
	return b.String()
}

func htmlEsc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\n", " ")
	return r.Replace(s)
}
