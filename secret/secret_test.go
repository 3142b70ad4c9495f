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
