package request_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
)

func commentDraft(comments ...request.Comment) request.Draft {
	d := maintenanceDraft("queue", "comment")
	d.Parameters.Comments = comments
	return d
}

// TestCommentParameters: a comment request carries its comments, hostile
// text included, through the file and the canonical bytes unchanged; the
// comments are signed (a changed comment breaks the signatures); and the
// shapes that make no sense are refused.
func TestCommentParameters(t *testing.T) {
	hostile := `it's "x" \'); DROP TABLE t; --` + "\n中文注释\t完"
	for _, tc := range []struct {
		name string
		d    request.Draft
		want string
	}{
		{"no comments", commentDraft(), "at least one comment"},
		{"a table besides", func() request.Draft {
			d := commentDraft(request.Comment{Table: "public.t", Comment: "x"})
			d.Parameters.Tables = []string{"public.t"}
			return d
		}(), "tables, index and proposal do not apply"},
		{"twice", commentDraft(request.Comment{Table: "public.t", Column: "c", Comment: "x"}, request.Comment{Table: "public.t", Column: "c", Comment: "y"}), "set twice"},
		{"control character", commentDraft(request.Comment{Table: "public.t", Comment: "a\x1b[2Jb"}), "control characters"},
		{"no table", commentDraft(request.Comment{Table: "", Comment: "x"}), "not a table name"},
		{"comments on vacuum", func() request.Draft {
			d := maintenanceDraft("queue", "vacuum", "public.t")
			d.Parameters.Comments = []request.Comment{{Table: "public.t", Comment: "x"}}
			return d
		}(), "takes no comments"},
		{"comments on a restore", request.Draft{Action: request.ActionRestore, Requester: requesttest.DBA,
			Parameters: request.Parameters{Database: "queue", Target: "scratch-pg", As: "x", Comments: []request.Comment{{Table: "t", Comment: "x"}}}}, "maintenance requests only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := request.New(tc.d, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
		})
	}

	site := requesttest.NewSite(t)
	r := newRequest(t, commentDraft(request.Comment{Table: "public.t", Comment: hostile}, request.Comment{Table: "t", Column: "名字", Comment: ""}))
	site.Sign(t, r, requesttest.DBA)
	site.Sign(t, r, requesttest.Approver)
	site.Sign(t, r, requesttest.Approver2)
	if rep := request.Offline(site.Config, r, now, 0); !rep.OK() {
		t.Fatalf("signed comment request refused: %s", rep.Reason())
	}
	parsed, err := request.Parse(r.Marshal())
	if err != nil || parsed.Digest() != r.Digest() {
		t.Fatalf("round trip: %v, %+v", err, parsed)
	}
	want := []maintmodel.CommentChange{{Table: engines.TableRef{Schema: "public", Name: "t"}, Text: hostile}, {Table: engines.TableRef{Name: "t"}, Column: "名字"}}
	if got := parsed.CommentChanges(); !slices.Equal(got, want) {
		t.Fatalf("changes: %+v, want %+v", got, want)
	}
	var canon struct {
		Parameters struct {
			Comments []map[string]string `json:"comments"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(r.Canonical(), &canon); err != nil || len(canon.Parameters.Comments) != 2 ||
		canon.Parameters.Comments[0]["comment"] != hostile || canon.Parameters.Comments[1]["column"] != "名字" {
		t.Fatalf("canonical bytes: %v %s", err, r.Canonical())
	}
	if !strings.Contains(string(r.Canonical()), `{"column":"","comment":"it's`) {
		t.Errorf("a canonical comment has not every key in lexical order: %s", r.Canonical())
	}
	forged, err := request.Parse([]byte(strings.Replace(string(r.Marshal()), "中文注释", "伪造注释", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if rep := request.Offline(site.Config, forged, now, 0); rep.OK() || !strings.Contains(rep.Reason(), "changed after it was signed") {
		t.Fatalf("a changed comment was accepted: %s", rep.Reason())
	}
	if _, err := request.Parse([]byte(strings.Replace(string(r.Marshal()), `"comment": ""`, `"comment": "", "sql": "x"`, 1))); err == nil {
		t.Error("an unknown field in a comment was accepted")
	}
}
