package engines_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
)

// TestNoteEnglish: a Note reads as the sentence the engines wrote before
// notes had keys, What included; one of a key this version does not know
// still says what it has.
func TestNoteEnglish(t *testing.T) {
	setting := engines.Note{Key: engines.PGRoleSetting, Params: engines.Params{"setting": "work_mem", "role": "r", "database": "d"}}
	for _, c := range []struct {
		n    engines.Note
		want string
	}{
		{engines.Note{Key: engines.PGRoleMissing, Params: engines.Params{"role": "r"}, What: &setting},
			"setting work_mem of role r in database d not restored: role r is missing on the target server"},
		{engines.Note{Key: engines.PGDatabaseOwnerMissing, Params: engines.Params{"database": "d", "owner": "o"}},
			"owner of database d not set to o: role o is missing on the target server; the database belongs to the restoring user"},
		{engines.Note{Key: engines.MySQLUsersAndGrants}, "users and grants: not part of a database backup"},
		{engines.Note{Key: engines.PGNoAmcheckTool, Params: engines.Params{"error": "pg_amcheck not found"}}, "pg_amcheck not found"},
		{engines.Note{Key: "postgres.something_new", Params: engines.Params{"b": "2", "a": "1"}}, "postgres.something_new a=1 b=2"},
	} {
		if got := c.n.English(); got != c.want {
			t.Errorf("%s: %q, want %q", c.n.Key, got, c.want)
		}
	}
}

// TestNoteSentences: every sentence's parameters are names a Note can
// carry, and a Note with all of them reads without braces.
func TestNoteSentences(t *testing.T) {
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	for key, s := range engines.NoteSentences() {
		n := engines.Note{Key: key, Params: engines.Params{}}
		for _, m := range param.FindAllStringSubmatch(s, -1) {
			if m[1] == "what" {
				n.What = &engines.Note{Key: engines.PGConnectionLimit, Params: engines.Params{"database": "d"}}
				continue
			}
			n.Params[m[1]] = "<" + m[1] + ">"
		}
		if got := n.English(); strings.ContainsAny(got, "{}") {
			t.Errorf("%s: %q", key, got)
		}
	}
}

// TestReportsSayBoth: the helpers fill the English and the Notes item for
// item, and both survive JSON; a report with English only (an older
// version's) reads back without Notes.
func TestReportsSayBoth(t *testing.T) {
	var rep engines.RestoreReport
	fk := engines.Note{Key: engines.PGForeignKeyNotCreated, Params: engines.Params{"constraint": "c", "table": "s.t", "references": "s.u", "database": "d"}}
	if got := rep.AddSkipped(fk); got != "foreign key c on s.t not created: the table it references, s.u, is not in database d" {
		t.Errorf("AddSkipped returned %q", got)
	}
	rep.AddNote(engines.Note{Key: engines.MySQLBinlogOff})
	if len(rep.Skipped) != 1 || len(rep.SkippedMessages) != 1 || len(rep.Notes) != 1 || len(rep.NoteMessages) != 1 ||
		rep.Notes[0] != "the restore is not written to the target's binary log (sql_log_bin=0): its replicas do not receive it" {
		t.Errorf("report: %+v", rep)
	}
	var ir engines.IntegrityReport
	ir.Skip(engines.Note{Key: engines.PGAmcheckUnavailable})
	if ir.Skipped != (engines.Note{Key: engines.PGAmcheckUnavailable}).English() || ir.SkippedMessage == nil {
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
