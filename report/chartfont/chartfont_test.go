package chartfont_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/report/chartfont"
)

func TestCheck(t *testing.T) {
	if err := chartfont.Check(""); err != nil {
		t.Fatalf("the default font: %v", err)
	}
	if _, err := chartfont.Load(""); err != nil {
		t.Fatalf("the default font: %v", err)
	}
	notFont := filepath.Join(t.TempDir(), "x.ttc")
	if err := os.WriteFile(notFont, []byte("not a font"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/nonexistent/NotoSansCJK-Regular.ttc": "fonts-noto-cjk",
		notFont:                                "not an OpenType font",
		"/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc": `no "Noto Sans CJK SC" face`,
	} {
		if err := chartfont.Check(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%s) = %v, want %q", path, err, want)
		}
		if _, err := chartfont.Load(path); err == nil {
			t.Errorf("Load(%s) succeeded", path)
		}
	}
}
