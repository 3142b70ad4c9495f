package dictionary

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// HTML writes the dictionary as one self-contained page: no file, font or
// script from elsewhere, so it opens offline from a mail attachment. A
// table of contents, a search box (a script in the page searches table and
// column names and comments), a section per table with links along foreign
// keys, and the ER pictures inline.
func HTML(out io.Writer, doc *Document) error {
	w := doc.words()
	d := doc.Dict
	anchor := map[Ref]string{}
	for i := range d.Tables {
		anchor[d.Tables[i].Ref()] = fmt.Sprintf("t-%d", i)
	}
	link := func(r Ref) template.HTML {
		a, ok := anchor[r]
		if !ok {
			return template.HTML(template.HTMLEscapeString(r.String()))
		}
		return template.HTML(fmt.Sprintf(`<a href="#%s">%s</a>`, a, template.HTMLEscapeString(r.String())))
	}
	changed := doc.changed()
	funcs := template.FuncMap{
		"changed": func(r Ref) bool { return changed[r] },
		"T":       w.T,
		"kind":    func(k string) string { return kindWord(w, k) },
		"rows":    func(t *Table) string { return rowsText(w, t) },
		"num":     num,
		"yes":     w.yesNo,
		"cols":    columnsOf,
		"anchor":  func(r Ref) string { return anchor[r] },
		"link":    link,
		"ref":     ref,
		"svg": func(r Ref) template.HTML {
			// dot's own output, from labels it escaped: trusted markup.
			return template.HTML(doc.Diagrams[r])
		},
		"hasSVG":   func(r Ref) bool { _, ok := doc.Diagrams[r]; return ok },
		"search":   searchText,
		"typeDef":  typeDefinition,
		"time":     doc.time,
		"coverage": func() []Coverage { return Coverages(d) },
		"pct":      func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
		"change":   func(c Change) string { return c.Text(doc.Lang) },
		"since":    func() string { return w.F("changes_since", "time", doc.time(doc.Previous)) },
		"rowsNote": func() string { return w.F("rows_note", "threshold", fmt.Sprint(d.ExactRowsBelow)) },
	}
	t, err := template.New("dict").Funcs(funcs).Parse(pageTemplate)
	if err != nil {
		return err
	}
	lang := string(doc.Lang)
	if lang == "" {
		lang = "zh-CN"
	}
	return t.Execute(out, map[string]any{"D": d, "Doc": doc, "Lang": lang})
}

// searchText is what the search box matches a column against.
func searchText(parts ...string) string {
	return strings.ToLower(strings.Join(parts, " "))
}

const pageTemplate = `<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.D.Database}} {{T "title"}}</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;display:flex;color:#1d2733}
nav{width:280px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6f9;border-right:1px solid #d8dee6;padding:12px;box-sizing:border-box}
nav ul{list-style:none;padding:0;margin:0}nav li{font-size:13px;margin:2px 0;word-break:break-all}
nav li.hidden,section.hidden{display:none}
main{flex:1;padding:16px 24px;min-width:0}
#search{width:100%;box-sizing:border-box;padding:6px;margin-bottom:8px}
#search-results{font-size:13px;margin-bottom:8px}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
th,td{border:1px solid #ccd3dc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#eef2f7;white-space:nowrap}td.n{text-align:right;white-space:nowrap}
main table{display:block;max-width:100%;overflow-x:auto}
h2{border-bottom:2px solid #3c6ea8;padding-bottom:4px;word-break:break-all}
.est{color:#a05a00}.note{color:#555}
pre{background:#f6f8fa;padding:8px;overflow:auto}
.er svg{max-width:100%;height:auto}
.chg{background:#fff1c2;color:#7a5200;border-radius:3px;padding:0 4px;font-size:12px;margin-left:4px}
</style></head><body>
<nav>
<input id="search" type="search" placeholder="{{T "search_placeholder"}}" aria-label="{{T "search"}}">
<div id="search-results"></div>
<strong>{{T "contents"}}</strong>
<ul id="toc">{{range .D.Tables}}<li data-search="{{search .Schema .Name .Comment}}"><a href="#{{anchor .Ref}}">{{.Schema}}.{{.Name}}</a>{{if changed .Ref}}<span class="chg">{{T "changed"}}</span>{{end}}{{if .Comment}} <span class="note">{{.Comment}}</span>{{end}}</li>{{end}}</ul>
</nav>
<main>
<h1>{{.D.Database}} {{T "title"}}</h1>
<table>
<tr><th>{{T "database"}}</th><td>{{.D.Database}}</td></tr>
<tr><th>{{T "engine"}}</th><td>{{.D.Engine}}</td></tr>
<tr><th>{{T "server_version"}}</th><td>{{.D.ServerVersion}}</td></tr>
<tr><th>{{T "collected_at"}}</th><td>{{time .D.CollectedAt}}</td></tr>
</table>
{{if .D.ExactRowsBelow}}<p class="note">{{rowsNote}}</p>{{end}}
{{if .Doc.DiagramsMissing}}<p class="note">{{T "er_missing"}}</p>{{end}}
<h2>{{T "coverage"}}</h2>
<table><tr><th>{{T "schema"}}</th><th>{{T "table_coverage"}}</th><th>{{T "column_coverage"}}</th></tr>
{{range coverage}}<tr><td>{{if .Schema}}{{.Schema}}{{else}}{{T "total"}}{{end}}</td><td class="n">{{pct .TablePercent}} ({{.TablesCommented}}/{{.Tables}})</td><td class="n">{{pct .ColumnPercent}} ({{.ColumnsCommented}}/{{.Columns}})</td></tr>{{end}}
</table>
<h2>{{T "changes"}}</h2>
{{if .Doc.Previous.IsZero}}<p>{{T "no_previous"}}</p>{{else}}<p>{{since}}</p>{{if .Doc.Changes}}<ul id="changes">{{range .Doc.Changes}}<li>{{change .}}</li>{{end}}</ul>{{else}}<p>{{T "no_changes"}}</p>{{end}}{{end}}
<h2>{{T "tables"}}</h2>
<table><tr><th>{{T "table"}}</th><th>{{T "kind"}}</th><th>{{T "comment"}}</th><th>{{T "rows"}}</th><th>{{T "data_bytes"}}</th><th>{{T "index_bytes"}}</th></tr>
{{range .D.Tables}}<tr><td>{{link .Ref}}</td><td>{{kind .Kind}}</td><td>{{.Comment}}</td><td class="n">{{rows .}}</td><td class="n">{{num .DataBytes}}</td><td class="n">{{num .IndexBytes}}</td></tr>{{end}}
</table>
{{range .D.Tables}}
<section class="tbl" id="{{anchor .Ref}}" data-search="{{search .Schema .Name .Comment}}">
<h2>{{.Schema}}.{{.Name}}{{if changed .Ref}}<span class="chg">{{T "changed"}}</span>{{end}}</h2>
{{if .Comment}}<p>{{.Comment}}</p>{{end}}
<table>
<tr><th>{{T "kind"}}</th><td>{{kind .Kind}}{{if .SystemVersioned}} ({{T "system_versioned"}}){{end}}</td></tr>
<tr><th>{{T "rows"}}</th><td class="{{if .RowsEstimated}}est{{end}}">{{rows .}}</td></tr>
<tr><th>{{T "data_bytes"}}</th><td>{{num .DataBytes}}</td></tr><tr><th>{{T "index_bytes"}}</th><td>{{num .IndexBytes}}</td></tr>
{{if .Engine}}<tr><th>{{T "engine"}}</th><td>{{.Engine}}</td></tr>{{end}}
{{if .Collation}}<tr><th>{{T "collation"}}</th><td>{{.Collation}}</td></tr>{{end}}
{{if .PartitionKey}}<tr><th>{{T "partition_key"}}</th><td>{{.PartitionKey}}</td></tr>{{end}}
{{with .PartitionOf}}<tr><th>{{T "partition_of"}}</th><td>{{link .}}</td></tr>{{end}}
{{if .PartitionBound}}<tr><th>{{T "partition_bound"}}</th><td>{{.PartitionBound}}</td></tr>{{end}}
{{if .Partitions}}<tr><th>{{T "partitions"}}</th><td>{{range .Partitions}}{{link .}} {{end}}</td></tr>{{end}}
{{if .PartitionNames}}<tr><th>{{T "partitions"}}</th><td>{{cols .PartitionNames}}</td></tr>{{end}}
</table>
<h3>{{T "columns"}}</h3>
<table class="cols"><tr><th>{{T "position"}}</th><th>{{T "column"}}</th><th>{{T "type"}}</th><th>{{T "nullable"}}</th><th>{{T "default"}}</th><th>{{T "generated"}}</th><th>{{T "identity"}}</th><th>{{T "collation"}}</th><th>{{T "comment"}}</th></tr>
{{$t := .}}{{range .Columns}}<tr class="col" data-table="{{$t.Schema}}.{{$t.Name}}" data-anchor="{{anchor $t.Ref}}" data-search="{{search .Name .Comment}}"><td class="n">{{.Position}}</td><td>{{.Name}}</td><td>{{.Type}}</td><td>{{yes .Nullable}}</td><td>{{.Default}}</td><td>{{.Generated}}{{if .GeneratedKind}} ({{.GeneratedKind}}){{end}}</td><td>{{.Identity}}</td><td>{{.Collation}}</td><td>{{.Comment}}</td></tr>
{{end}}</table>
{{if or .PrimaryKey .Uniques .Checks}}<h3>{{T "constraints"}}</h3><table><tr><th>{{T "name"}}</th><th>{{T "kind"}}</th><th>{{T "definition"}}</th></tr>
{{with .PrimaryKey}}<tr><td>{{.Name}}</td><td>{{T "primary_key"}}</td><td>{{cols .Columns}}</td></tr>{{end}}
{{range .Uniques}}<tr><td>{{.Name}}</td><td>{{T "uniques"}}</td><td>{{cols .Columns}}</td></tr>{{end}}
{{range .Checks}}<tr><td>{{.Name}}</td><td>{{T "checks"}}</td><td>{{.Expression}}</td></tr>{{end}}
</table>{{end}}
{{if or .ForeignKeys .ReferencedBy}}<h3>{{T "foreign_keys"}}</h3><table><tr><th>{{T "name"}}</th><th>{{T "columns"}}</th><th>{{T "references"}}</th><th>{{T "on_update"}}</th><th>{{T "on_delete"}}</th><th>{{T "kind"}}</th></tr>
{{range .ForeignKeys}}<tr><td>{{.Name}}</td><td>{{cols .Columns}}</td><td>{{link (ref .RefSchema .RefTable)}} ({{cols .RefColumns}})</td><td>{{.OnUpdate}}</td><td>{{.OnDelete}}</td><td>{{T "references"}}</td></tr>{{end}}
{{range .ReferencedBy}}<tr><td>{{.Name}}</td><td>{{cols .RefColumns}}</td><td>{{link (ref .Schema .Table)}} ({{cols .Columns}})</td><td>{{.OnUpdate}}</td><td>{{.OnDelete}}</td><td>{{T "referenced_by"}}</td></tr>{{end}}
</table>{{end}}
{{if .Indexes}}<h3>{{T "indexes"}}</h3><table><tr><th>{{T "name"}}</th><th>{{T "columns"}}</th><th>{{T "method"}}</th><th>{{T "unique"}}</th><th>{{T "predicate"}}</th><th>{{T "bytes"}}</th></tr>
{{range .Indexes}}<tr><td>{{.Name}}</td><td>{{cols .Columns}}</td><td>{{.Method}}</td><td>{{yes .Unique}}</td><td>{{.Predicate}}</td><td class="n">{{num .Bytes}}</td></tr>{{end}}
</table>{{end}}
{{if .Triggers}}<h3>{{T "triggers"}}</h3><table><tr><th>{{T "name"}}</th><th>{{T "timing"}}</th><th>{{T "events"}}</th><th>{{T "definition"}}</th></tr>
{{range .Triggers}}<tr><td>{{.Name}}</td><td>{{.Timing}}</td><td>{{.Events}}</td><td>{{.Definition}}</td></tr>{{end}}
</table>{{end}}
{{if .Definition}}<h3>{{T "definition"}}</h3><pre>{{.Definition}}</pre>{{end}}
{{if .Reads}}<h3>{{T "reads"}}</h3><p>{{range .Reads}}{{link .}} {{end}}</p>{{end}}
{{if hasSVG .Ref}}<h3>{{T "er"}}</h3><div class="er">{{svg .Ref}}</div>{{end}}
<p><a href="#toc">{{T "back"}}</a></p>
</section>
{{end}}
{{if .D.Routines}}<h2>{{T "routines"}}</h2><table><tr><th>{{T "name"}}</th><th>{{T "kind"}}</th><th>{{T "arguments"}}</th><th>{{T "returns"}}</th><th>{{T "language"}}</th><th>{{T "comment"}}</th></tr>
{{range .D.Routines}}<tr><td>{{.Schema}}.{{.Name}}</td><td>{{.Kind}}</td><td>{{.Arguments}}</td><td>{{.Returns}}</td><td>{{.Language}}</td><td>{{.Comment}}</td></tr>{{end}}</table>{{end}}
{{if .D.Sequences}}<h2>{{T "sequences"}}</h2><table><tr><th>{{T "name"}}</th><th>{{T "type"}}</th><th>{{T "start"}}</th><th>{{T "increment"}}</th><th>{{T "min"}}</th><th>{{T "max"}}</th><th>{{T "owned_by"}}</th><th>{{T "comment"}}</th></tr>
{{range .D.Sequences}}<tr><td>{{.Schema}}.{{.Name}}</td><td>{{.Type}}</td><td class="n">{{num .Start}}</td><td class="n">{{num .Increment}}</td><td class="n">{{num .Min}}</td><td class="n">{{num .Max}}</td><td>{{.OwnedBy}}</td><td>{{.Comment}}</td></tr>{{end}}</table>{{end}}
{{if .D.Types}}<h2>{{T "types"}}</h2><table><tr><th>{{T "name"}}</th><th>{{T "kind"}}</th><th>{{T "definition"}}</th><th>{{T "comment"}}</th></tr>
{{range .D.Types}}<tr><td>{{.Schema}}.{{.Name}}</td><td>{{.Kind}}</td><td>{{typeDef .}}</td><td>{{.Comment}}</td></tr>{{end}}</table>{{end}}
</main>
<script>
(function () {
  var box = document.getElementById('search'), out = document.getElementById('search-results');
  var toc = Array.prototype.slice.call(document.querySelectorAll('#toc li'));
  var sections = Array.prototype.slice.call(document.querySelectorAll('section.tbl'));
  var cols = Array.prototype.slice.call(document.querySelectorAll('tr.col'));
  var none = {{T "search_none"}};
  function run() {
    var q = box.value.trim().toLowerCase();
    out.textContent = '';
    var hit = {};
    cols.forEach(function (c) {
      if (q && c.getAttribute('data-search').indexOf(q) >= 0) {
        hit[c.getAttribute('data-anchor')] = true;
        var a = document.createElement('a');
        a.href = '#' + c.getAttribute('data-anchor');
        a.className = 'hit';
        a.textContent = c.getAttribute('data-table') + '.' + c.children[1].textContent;
        out.appendChild(a);
        out.appendChild(document.createElement('br'));
      }
    });
    sections.forEach(function (s, i) {
      var show = !q || hit[s.id] || s.getAttribute('data-search').indexOf(q) >= 0;
      s.classList.toggle('hidden', !show);
      toc[i].classList.toggle('hidden', !show);
    });
    if (q && !out.firstChild) { out.textContent = none; }
  }
  box.addEventListener('input', run);
})();
</script>
</body></html>
`
