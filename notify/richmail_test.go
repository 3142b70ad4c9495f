package notify_test

import (
	"mime"
	"testing"

	"github.com/dbopsd/dbopsd/notify"
)

// TestFileNameHeaders: a Chinese name is written both ways (RFC 2231 in the
// disposition, an RFC 2047 encoded word as the type's name) and each
// decodes to the name; an ASCII name is written as it is.
func TestFileNameHeaders(t *testing.T) {
	for _, name := range []string{"数据量登记_2026-11.xlsx", "report 2026-11.csv", `a "quoted"; name.html`} {
		ctype, disp := notify.FileNameHeaders("text/csv", "attachment", name)
		_, dp, err := mime.ParseMediaType(disp)
		if err != nil || dp["filename"] != name {
			t.Errorf("%q: disposition %q decodes to %q (%v)", name, disp, dp["filename"], err)
		}
		_, cp, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(cp["name"])
		if err != nil || got != name {
			t.Errorf("%q: type %q's name decodes to %q (%v)", name, ctype, got, err)
		}
	}
	if ctype, disp := notify.FileNameHeaders("", "inline", "chart-1.png"); ctype != `application/octet-stream; name="chart-1.png"` || disp != `inline; filename="chart-1.png"` {
		t.Errorf("ASCII name: %q, %q", ctype, disp)
	}
	_, disp := notify.FileNameHeaders("text/csv", "attachment", "诊断.csv")
	if want := `attachment; filename*=UTF-8''%E8%AF%8A%E6%96%AD.csv`; disp != want {
		t.Errorf("RFC 2231: %q, want %q", disp, want)
	}
}
