package all_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mysql"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/i18n"
)

// TestNoteEnglish: a Note reads as the sentence the engines wrote before
// notes had keys, What included; one of a key this version does not know
// still says what it has.
func TestNoteEnglish(t *testing.T) {
	setting := engines.Note{Key: postgres.NoteRoleSetting, Params: engines.Params{"setting": "work_mem", "role": "r", "database": "d"}}
	for _, c := range []struct {
		n    engines.Note
		want string
	}{
		{engines.Note{Key: postgres.NoteRoleMissing, Params: engines.Params{"role": "r"}, What: &setting},
			"setting work_mem of role r in database d not restored: role r is missing on the target server"},
		{engines.Note{Key: postgres.NoteDatabaseOwnerMissing, Params: engines.Params{"database": "d", "owner": "o"}},
			"owner of database d not set to o: role o is missing on the target server; the database belongs to the restoring user"},
		{engines.Note{Key: mysql.NoteUsersAndGrants}, "users and grants: not part of a database backup"},
		{engines.Note{Key: postgres.NoteNoAmcheckTool, Params: engines.Params{"error": "pg_amcheck not found"}}, "pg_amcheck not found"},
		{engines.Note{Key: "postgres.something_new", Params: engines.Params{"b": "2", "a": "1"}}, "postgres.something_new a=1 b=2"},
	} {
		if got := c.n.English(); got != c.want {
			t.Errorf("%s: %q, want %q", c.n.Key, got, c.want)
		}
	}
}

// TestNoteSentences: every sentence's parameters, in every language, are
// names a Note can carry, and a Note with all of them reads without braces;
// {kind} reads as the language's word for it.
func TestNoteSentences(t *testing.T) {
	keys := append(i18n.Keys(i18n.EN, "postgres."), i18n.Keys(i18n.EN, "mysql.")...)
	if len(keys) < 40 {
		t.Fatalf("%d note keys in the catalog: the engines' messages are not registered", len(keys))
	}
	for _, key := range keys {
		if owner, want := i18n.Owner(key), "engines/"+strings.SplitN(key, ".", 2)[0]; owner != want {
			t.Errorf("%s is registered by %q, want %q", key, owner, want)
		}
		for _, lang := range i18n.Langs() {
			s, _ := i18n.Lookup(lang, key)
			n := engines.Note{Key: key, Params: engines.Params{}}
			for _, name := range i18n.Placeholders(s) {
				if name == "what" {
					n.What = &engines.Note{Key: postgres.NoteConnectionLimit, Params: engines.Params{"database": "d"}}
					continue
				}
				n.Params[name] = "<" + name + ">"
			}
			if _, ok := n.Params["kind"]; ok {
				n.Params["kind"] = engines.KindView
			}
			got, ok := n.Text(lang)
			if !ok || strings.ContainsAny(got, "{}") {
				t.Errorf("%s in %s: %q (%v)", key, lang, got, ok)
			}
			if lang == i18n.EN && got != n.English() {
				t.Errorf("%s: Text(en) %q, English %q", key, got, n.English())
			}
			if n.Params["kind"] != "" && !strings.Contains(got, map[i18n.Lang]string{i18n.ZH: "视图", i18n.EN: "view"}[lang]) {
				t.Errorf("%s in %s: {kind} not translated: %q", key, lang, got)
			}
		}
	}
	// A note of a newer version (an unknown key, or an unknown What) does
	// not render: the report shows the English it stored.
	for _, n := range []engines.Note{
		{Key: "postgres.something_new"},
		{Key: postgres.NoteRefused, Params: engines.Params{"error": "e", "sqlstate": "42501"}, What: &engines.Note{Key: "postgres.subscription"}},
		{Key: postgres.NoteRoleMissing},
	} {
		if s, ok := n.Text(i18n.ZH); ok {
			t.Errorf("%+v renders as %q", n, s)
		}
	}
}

// TestReportsSayBoth: the helpers fill the English and the Notes item for
// item, and both survive JSON; a report with English only (an older
// version's) reads back without Notes.
func TestReportsSayBoth(t *testing.T) {
	var rep engines.RestoreReport
	fk := engines.Note{Key: postgres.NoteForeignKeyNotCreated, Params: engines.Params{"constraint": "c", "table": "s.t", "references": "s.u", "database": "d"}}
	if got := rep.AddSkipped(fk); got != "foreign key c on s.t not created: the table it references, s.u, is not in database d" {
		t.Errorf("AddSkipped returned %q", got)
	}
	rep.AddNote(engines.Note{Key: mysql.NoteBinlogOff})
	if len(rep.Skipped) != 1 || len(rep.SkippedMessages) != 1 || len(rep.Notes) != 1 || len(rep.NoteMessages) != 1 ||
		rep.Notes[0] != "the restore is not written to the target's binary log (sql_log_bin=0): its replicas do not receive it" {
		t.Errorf("report: %+v", rep)
	}
	var ir engines.IntegrityReport
	ir.Skip(engines.Note{Key: postgres.NoteAmcheckUnavailable})
	if ir.Skipped != (engines.Note{Key: postgres.NoteAmcheckUnavailable}).English() || ir.SkippedMessage == nil {
		t.Errorf("integrity report: %+v", ir)
	}

	for _, v := range []any{&rep, &ir} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Errorf("through JSON:\n%s\n%+v", b, back)
		}
	}
	b, _ := json.Marshal(engines.RestoreReport{Skipped: []string{"x"}})
	if string(b) != `{"skipped":["x"]}` {
		t.Errorf("a report without Notes: %s", b)
	}
}
