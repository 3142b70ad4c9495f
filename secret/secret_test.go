package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestNeverPrinted(t *testing.T) {
	const pw = "hunter2-Sup3rS3cret"
	type inner struct{ password Value } // unexported: fmt cannot call its methods
	type conn struct {
		DSN      string
		Password Value
		in       inner
	}
	c := conn{DSN: "postgres://u@h/db", Password: New(pw), in: inner{New(pw)}}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%T", "%10.3s"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, c.Password), fmt.Sprintf(verb, &c))
	}
	j, _ := json.Marshal(c)
	outs = append(outs, string(j), fmt.Sprint(c), fmt.Sprintln(c.Password))
	var b strings.Builder
	hclog.New(&hclog.LoggerOptions{Output: &b}).Info("connecting", "conn", c, "password", c.Password)
	hclog.New(&hclog.LoggerOptions{Output: &b, JSONFormat: true}).Info("connecting", "conn", c, "password", c.Password)
	outs = append(outs, b.String())
	for _, o := range outs {
		if strings.Contains(o, pw) || strings.Contains(o, fmt.Sprintf("%x", pw)) {
			t.Fatalf("secret printed: %s", o)
		}
	}
	if c.Password.Reveal() != pw || New("").Reveal() != "" || !New("").Empty() || (Value{}).Reveal() != "" {
		t.Fatal("Reveal/Empty")
	}
}

// TestFixedWidth: what is printed says nothing about the secret's length.
func TestFixedWidth(t *testing.T) {
	short, long := New("x"), New(strings.Repeat("long secret ", 50))
	for _, verb := range []string{"%v", "%s", "%q", "%x", "%10s", "%-40v"} {
		if a, b := fmt.Sprintf(verb, short), fmt.Sprintf(verb, long); a != b || a != "[redacted]" {
			t.Errorf("%s: %q and %q", verb, a, b)
		}
	}
	a, _ := json.Marshal(short)
	b, _ := json.Marshal(long)
	if string(a) != string(b) {
		t.Errorf("JSON: %s and %s", a, b)
	}
}
