package dictionary

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dbopsd/dbopsd/engines/dictmodel"
)

// Markdown returns the dictionary in the tbls layout: README.md (the
// index) and one file per table, by file name. Diagrams, when there are
// any, are files of their own (schema.table.svg) the table's file shows.
func Markdown(doc *Document) map[string][]byte {
	w := doc.words()
	d := doc.Dict
	files := map[string][]byte{}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s %s\n\n", d.Database, w.T("title"))
	fmt.Fprintf(&b, "| %s | %s |\n| --- | --- |\n", w.T("name"), w.T("definition"))
	fmt.Fprintf(&b, "| %s | %s |\n", w.T("database"), md(d.Database))
	fmt.Fprintf(&b, "| %s | %s |\n", w.T("engine"), md(d.Engine))
	fmt.Fprintf(&b, "| %s | %s |\n", w.T("server_version"), md(d.ServerVersion))
	fmt.Fprintf(&b, "| %s | %s |\n\n", w.T("collected_at"), doc.time(d.CollectedAt))
	if d.ExactRowsBelow > 0 {
		fmt.Fprintf(&b, "%s\n\n", w.F("rows_note", "threshold", fmt.Sprint(d.ExactRowsBelow)))
	}
	if doc.DiagramsMissing {
		fmt.Fprintf(&b, "> %s\n\n", w.T("er_missing"))
	}

	fmt.Fprintf(&b, "## %s\n\n| %s | %s |\n| --- | --- |\n", w.T("schemas"), w.T("name"), w.T("comment"))
	for _, s := range d.Schemas {
		fmt.Fprintf(&b, "| %s | %s |\n", md(s.Name), md(s.Comment))
	}
	changed := doc.changed()
	fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s | %s |\n| --- | --- | --- | --- | ---: | ---: | ---: |\n",
		w.T("tables"), w.T("table"), w.T("columns"), w.T("comment"), w.T("kind"), w.T("rows"), w.T("data_bytes"), w.T("index_bytes"))
	for i := range d.Tables {
		t := &d.Tables[i]
		mark := ""
		if changed[t.Ref()] {
			mark = " **" + w.T("changed") + "**"
		}
		fmt.Fprintf(&b, "| [%s](%s)%s | %d | %s | %s | %s | %s | %s |\n", md(t.Ref().String()), linkPath(fileName(t.Ref())), mark,
			len(t.Columns), md(t.Comment), kindWord(w, t.Kind), rowsText(w, t), num(t.DataBytes), num(t.IndexBytes))
	}
	markdownCoverage(&b, w, d)
	markdownChanges(&b, doc)
	markdownObjects(&b, w, d)
	files["README.md"] = b.Bytes()

	for i := range d.Tables {
		t := &d.Tables[i]
		svg, ok := doc.Diagrams[t.Ref()]
		if ok {
			files[strings.TrimSuffix(fileName(t.Ref()), ".md")+".svg"] = []byte(svg)
		}
		files[fileName(t.Ref())] = markdownTable(doc, t, ok)
	}
	return files
}

func markdownCoverage(b *bytes.Buffer, w words, d *Dictionary) {
	fmt.Fprintf(b, "\n## %s\n\n| %s | %s | %s |\n| --- | ---: | ---: |\n", w.T("coverage"), w.T("schema"), w.T("table_coverage"), w.T("column_coverage"))
	for _, c := range Coverages(d) {
		name := c.Schema
		if name == "" {
			name = w.T("total")
		}
		fmt.Fprintf(b, "| %s | %.1f%% (%d/%d) | %.1f%% (%d/%d) |\n", md(name), c.TablePercent(), c.TablesCommented, c.Tables,
			c.ColumnPercent(), c.ColumnsCommented, c.Columns)
	}
}

func markdownChanges(b *bytes.Buffer, doc *Document) {
	w := doc.words()
	fmt.Fprintf(b, "\n## %s\n\n", w.T("changes"))
	switch {
	case doc.Previous.IsZero():
		fmt.Fprintf(b, "%s\n", w.T("no_previous"))
	case len(doc.Changes) == 0:
		fmt.Fprintf(b, "%s\n\n%s\n", w.F("changes_since", "time", doc.time(doc.Previous)), w.T("no_changes"))
	default:
		fmt.Fprintf(b, "%s\n\n", w.F("changes_since", "time", doc.time(doc.Previous)))
		for _, c := range doc.Changes {
			fmt.Fprintf(b, "- %s\n", md(c.Text(doc.Lang)))
		}
	}
}

func markdownObjects(b *bytes.Buffer, w words, d *Dictionary) {
	if len(d.Routines) > 0 {
		fmt.Fprintf(b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s |\n| --- | --- | --- | --- | --- | --- |\n",
			w.T("routines"), w.T("name"), w.T("kind"), w.T("arguments"), w.T("returns"), w.T("language"), w.T("comment"))
		for _, r := range d.Routines {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", md(r.Schema+"."+r.Name), md(r.Kind), md(r.Arguments), md(r.Returns), md(r.Language), md(r.Comment))
		}
	}
	if len(d.Sequences) > 0 {
		fmt.Fprintf(b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s | %s | %s |\n| --- | --- | ---: | ---: | ---: | ---: | --- | --- |\n",
			w.T("sequences"), w.T("name"), w.T("type"), w.T("start"), w.T("increment"), w.T("min"), w.T("max"), w.T("owned_by"), w.T("comment"))
		for _, s := range d.Sequences {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", md(s.Schema+"."+s.Name), md(s.Type), num(s.Start), num(s.Increment),
				num(s.Min), num(s.Max), md(s.OwnedBy), md(s.Comment))
		}
	}
	if len(d.Types) > 0 {
		fmt.Fprintf(b, "\n## %s\n\n| %s | %s | %s | %s |\n| --- | --- | --- | --- |\n", w.T("types"), w.T("name"), w.T("kind"), w.T("definition"), w.T("comment"))
		for _, t := range d.Types {
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", md(t.Schema+"."+t.Name), md(t.Kind), md(typeDefinition(t)), md(t.Comment))
		}
	}
}

func typeDefinition(t dictmodel.Type) string {
	switch {
	case len(t.Labels) > 0:
		return strings.Join(t.Labels, ", ")
	case len(t.Attributes) > 0:
		parts := make([]string, len(t.Attributes))
		for i, a := range t.Attributes {
			parts[i] = a.Name + " " + a.Type
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return strings.TrimSpace(t.BaseType + " " + strings.Join(t.Constraints, " "))
}

func markdownTable(doc *Document, t *Table, diagram bool) []byte {
	w := doc.words()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", md(t.Ref().String()))
	if t.Comment != "" {
		fmt.Fprintf(&b, "%s\n\n", mdText(t.Comment))
	}
	fmt.Fprintf(&b, "| %s | %s |\n| --- | --- |\n| %s | %s |\n", w.T("kind"), kindWord(w, t.Kind), w.T("rows"), rowsText(w, t))
	fmt.Fprintf(&b, "| %s | %s |\n| %s | %s |\n", w.T("data_bytes"), num(t.DataBytes), w.T("index_bytes"), num(t.IndexBytes))
	if t.Engine != "" {
		fmt.Fprintf(&b, "| %s | %s |\n", w.T("engine"), md(t.Engine))
	}
	if t.Collation != "" {
		fmt.Fprintf(&b, "| %s | %s |\n", w.T("collation"), md(t.Collation))
	}
	if t.SystemVersioned {
		fmt.Fprintf(&b, "| %s | %s |\n", w.T("system_versioned"), w.T("yes"))
	}
	if t.PartitionKey != "" {
		fmt.Fprintf(&b, "| %s | %s |\n", w.T("partition_key"), md(t.PartitionKey))
	}
	if t.PartitionOf != nil {
		fmt.Fprintf(&b, "| %s | [%s](%s) |\n| %s | %s |\n", w.T("partition_of"), md(t.PartitionOf.String()), linkPath(fileName(*t.PartitionOf)),
			w.T("partition_bound"), md(t.PartitionBound))
	}
	if len(t.Partitions) > 0 {
		links := make([]string, len(t.Partitions))
		for i, p := range t.Partitions {
			links[i] = fmt.Sprintf("[%s](%s)", md(p.String()), linkPath(fileName(p)))
		}
		fmt.Fprintf(&b, "| %s | %s |\n", w.T("partitions"), strings.Join(links, " "))
	}
	if len(t.PartitionNames) > 0 {
		fmt.Fprintf(&b, "| %s | %s |\n", w.T("partitions"), md(strings.Join(t.PartitionNames, ", ")))
	}

	fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n| ---: | --- | --- | --- | --- | --- | --- | --- | --- |\n",
		w.T("columns"), w.T("position"), w.T("column"), w.T("type"), w.T("nullable"), w.T("default"),
		w.T("generated"), w.T("identity"), w.T("collation"), w.T("comment"))
	for _, c := range t.Columns {
		gen := c.Generated
		if gen != "" {
			gen += " (" + c.GeneratedKind + ")"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.Position, md(c.Name), md(c.Type), w.yesNo(c.Nullable),
			md(c.Default), md(gen), md(c.Identity), md(c.Collation), md(c.Comment))
	}

	if t.PrimaryKey != nil || len(t.Uniques) > 0 || len(t.Checks) > 0 {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s |\n| --- | --- | --- |\n", w.T("constraints"), w.T("name"), w.T("kind"), w.T("definition"))
		if pk := t.PrimaryKey; pk != nil {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", md(pk.Name), w.T("primary_key"), md(columnsOf(pk.Columns)))
		}
		for _, u := range t.Uniques {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", md(u.Name), w.T("uniques"), md(columnsOf(u.Columns)))
		}
		for _, c := range t.Checks {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", md(c.Name), w.T("checks"), md(c.Expression))
		}
	}
	if len(t.ForeignKeys) > 0 || len(t.ReferencedBy) > 0 {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s |\n| --- | --- | --- | --- | --- | --- |\n",
			w.T("foreign_keys"), w.T("name"), w.T("columns"), w.T("references"), w.T("on_update"), w.T("on_delete"), w.T("kind"))
		for _, fk := range t.ForeignKeys {
			r := ref(fk.RefSchema, fk.RefTable)
			fmt.Fprintf(&b, "| %s | %s | [%s](%s) (%s) | %s | %s | %s |\n", md(fk.Name), md(columnsOf(fk.Columns)), md(r.String()), linkPath(fileName(r)),
				md(columnsOf(fk.RefColumns)), fk.OnUpdate, fk.OnDelete, w.T("references"))
		}
		for _, fk := range t.ReferencedBy {
			r := ref(fk.Schema, fk.Table)
			fmt.Fprintf(&b, "| %s | %s | [%s](%s) (%s) | %s | %s | %s |\n", md(fk.Name), md(columnsOf(fk.RefColumns)), md(r.String()), linkPath(fileName(r)),
				md(columnsOf(fk.Columns)), fk.OnUpdate, fk.OnDelete, w.T("referenced_by"))
		}
	}
	if len(t.Indexes) > 0 {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s |\n| --- | --- | --- | --- | --- | ---: |\n",
			w.T("indexes"), w.T("name"), w.T("columns"), w.T("method"), w.T("unique"), w.T("predicate"), w.T("bytes"))
		for _, ix := range t.Indexes {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", md(ix.Name), md(columnsOf(ix.Columns)), md(ix.Method), w.yesNo(ix.Unique), md(ix.Predicate), num(ix.Bytes))
		}
	}
	if len(t.Triggers) > 0 {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s | %s |\n| --- | --- | --- | --- |\n", w.T("triggers"), w.T("name"), w.T("timing"), w.T("events"), w.T("definition"))
		for _, tr := range t.Triggers {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", md(tr.Name), md(tr.Timing), md(tr.Events), md(tr.Definition))
		}
	}
	if t.Definition != "" {
		fmt.Fprintf(&b, "\n## %s\n\n```sql\n%s\n```\n", w.T("definition"), strings.TrimSpace(t.Definition))
	}
	if len(t.Reads) > 0 {
		fmt.Fprintf(&b, "\n## %s\n\n", w.T("reads"))
		for _, r := range t.Reads {
			fmt.Fprintf(&b, "- [%s](%s)\n", md(r.String()), linkPath(fileName(r)))
		}
	}
	if diagram {
		fmt.Fprintf(&b, "\n## %s\n\n![%s](%s)\n", w.T("er"), md(t.Ref().String()), linkPath(strings.TrimSuffix(fileName(t.Ref()), ".md")+".svg"))
	}
	fmt.Fprintf(&b, "\n---\n\n[%s](README.md)\n", w.T("back"))
	return b.Bytes()
}

// md escapes a value for a Markdown table cell.
func md(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "<br>")
}

func mdText(s string) string { return strings.ReplaceAll(s, "\n", "  \n") }

// linkPath escapes a file name for a Markdown link target.
func linkPath(name string) string {
	r := strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29")
	return r.Replace(name)
}

// WriteMarkdown writes Markdown(doc) into dir.
func WriteMarkdown(dir string, doc *Document) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := Markdown(doc)
	var names []string
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}
