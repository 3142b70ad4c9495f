package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/register"
)

// TestCommentsThroughDaemon: the comments a business-side file asks for
// are shown by dict comments with the command that applies them; the
// request that command writes carries them signed; without its approval
// the daemon refuses it and nothing changes; approved, the daemon sets
// them exactly (quotes, backslashes, Chinese, newlines), and the register
// keeps each comment before and after.
func TestCommentsThroughDaemon(t *testing.T) {
	s := newSite(t, "")
	t.Setenv("SSH_AUTH_SOCK", "")
	dba, approver := writeRequestPolicy(t, s, "", "")
	s.ok("repo", "init")
	s.src.Exec(t, s.srcDB, `CREATE TABLE public.clients (id int PRIMARY KEY, "名字" text);
		COMMENT ON TABLE public.clients IS 'old';`)
	comments := func() string {
		return s.src.QueryString(t, s.srcDB, `SELECT coalesce(obj_description('public.clients'::regclass, 'pg_class'), '<none>') || '|' ||
			coalesce(col_description('public.clients'::regclass, 2), '<none>')`)
	}
	table := `客户 "VIP" isn't \'); DROP TABLE public.clients; --`
	column := "姓名\n第二行 \\ 反斜杠\t'"
	file := func(name string) string { return filepath.Join(s.dir, name) }
	f, err := os.Create(file("comments.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.WriteAll([][]string{{"模式", "表", "列", "注释"}, {"public", "clients", "", table}, {"", "clients", "名字", column}, {"public", "nosuch", "", "x"}})
	f.Close()

	out := s.ok("dict", "comments", "--database", "hall", "--from", file("comments.csv"), "--lang", "en")
	if !strings.Contains(out, "dbopsd request new maintenance --config "+s.config+" --database hall --comments-from "+file("comments.csv")+" -o comments-request.json") ||
		!strings.Contains(out, `COMMENT ON TABLE "public"."clients" IS E'`) {
		t.Errorf("dict comments:\n%s", out)
	}
	if got := comments(); got != "old|<none>" {
		t.Fatalf("dict comments changed the comments: %q", got)
	}

	agent, logs, _ := startRequestAgent(t, s.config, 0)
	_ = agent
	defer func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()

	// Without its approval: refused, nothing changes.
	s.ok("request", "new", "maintenance", "--database", "hall", "--comments-from", file("comments.csv"), "-o", file("short.json"))
	s.ok("request", "sign", "--key", dba.Private, file("short.json"))
	if msg := s.fails("request", "submit", file("short.json")); !strings.Contains(msg, "a maintenance needs 1 approval(s)") {
		t.Errorf("submit without approval: %s", msg)
	}
	if got := comments(); got != "old|<none>" {
		t.Fatalf("a refused request changed the comments: %q", got)
	}

	s.ok("request", "new", "maintenance", "--database", "hall", "--comments-from", file("comments.csv"), "-o", file("c.json"))
	raw, err := os.ReadFile(file("c.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Parameters struct {
			Operation string
			Comments  []struct{ Table, Column, Comment string }
		}
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.Parameters.Operation != "comment" || len(req.Parameters.Comments) != 2 ||
		req.Parameters.Comments[1].Table != "public.clients" || req.Parameters.Comments[1].Comment != column {
		t.Fatalf("the request's comments: %v %s", err, raw)
	}
	s.ok("request", "sign", "--key", dba.Private, file("c.json"))
	s.ok("request", "approve", "--key", approver.Private, file("c.json"))
	if v := s.ok("request", "verify", file("c.json")); !strings.Contains(v, `comment on public.clients.名字: "姓名\n第二行 \\ 反斜杠\t'"`) {
		t.Errorf("request verify does not show the approver the comments:\n%s", v)
	}
	rid := strings.TrimSpace(s.ok("request", "submit", file("c.json")))
	stdout, errOut, code := s.run("request", "status", rid, "--follow", "--poll", "100ms", "--json")
	var rs api.RequestStatus
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil || code != 0 || rs.State != api.RequestDone || rs.Outcome != register.Succeeded {
		t.Fatalf("request status: exit %d %v %+v\n%s", code, err, rs, errOut)
	}
	if got, want := comments(), table+"|"+column; got != want {
		t.Fatalf("comments after the request: %q, want %q", got, want)
	}

	es, err := register.ReadFile(filepath.Join(s.dir, "state", register.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		if e.Request != rid {
			continue
		}
		kinds = append(kinds, string(e.Kind))
		if e.Kind == register.Received && !strings.Contains(e.Note, "comment (2 change(s): public.clients, public.clients.名字)") {
			t.Errorf("received entry note: %q", e.Note)
		}
		if e.Kind == register.Finished && (!strings.Contains(e.Note, `comment public.clients: before "old", after "客户 \"VIP\" isn't \\'); DROP TABLE`) ||
			!strings.Contains(e.Note, `comment public.clients.名字: before "", after "姓名\n第二行`) || !strings.Contains(e.Note, "succeeded")) {
			t.Errorf("finished entry note: %q", e.Note)
		}
	}
	if strings.Join(kinds, ",") != "received,approved,accepted,started,finished" {
		t.Errorf("register entries of %s: %s", rid, kinds)
	}
}
