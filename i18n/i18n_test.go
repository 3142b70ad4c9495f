package i18n_test

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dbopsd/dbopsd/i18n"
)

func TestNormalizeLang(t *testing.T) {
	for in, want := range map[string]i18n.Lang{
		"": i18n.ZH, "zh": i18n.ZH, "zh-CN": i18n.ZH, "zh_CN": i18n.ZH, "zh-cn": i18n.ZH, "ZH-CN": i18n.ZH,
		"zh-Hans": i18n.ZH, "zh-hans": i18n.ZH, "zh_Hans_CN": i18n.ZH, "cn": i18n.ZH, "CN": i18n.ZH, " zh-CN ": i18n.ZH,
		"en": i18n.EN, "EN": i18n.EN, "en-US": i18n.EN, "en_GB": i18n.EN, "en-gb": i18n.EN,
	} {
		got, err := i18n.NormalizeLang(in)
		if err != nil || got != want {
			t.Errorf("NormalizeLang(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"fr", "zh-TW", "zh-Hant", "english", "en-", "e", "zh-CN-x"} {
		if got, err := i18n.NormalizeLang(in); err == nil || !strings.Contains(err.Error(), "want zh-CN or en") {
			t.Errorf("NormalizeLang(%q) = %q, %v; want an error", in, got, err)
		}
	}
	if i18n.Default != i18n.ZH || i18n.Langs()[0] != i18n.Default {
		t.Errorf("default %q, languages %q", i18n.Default, i18n.Langs())
	}
}

// catalog is an fs.FS holding dir/<lang>.json for the sentences given.
func catalog(t *testing.T, dir string, byLang map[i18n.Lang]map[string]string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for lang, m := range byLang {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		fsys[dir+"/"+string(lang)+".json"] = &fstest.MapFile{Data: b}
	}
	return fsys
}

func TestRender(t *testing.T) {
	cat := i18n.NewCatalog()
	if err := cat.Register("a", catalog(t, "messages", map[i18n.Lang]map[string]string{
		i18n.ZH: {"a.restored": "已恢复 {tables} 张表（{what}）", "a.plain": "完成"},
		i18n.EN: {"a.restored": "restored {tables} tables ({what})", "a.plain": "done"},
	}), "messages"); err != nil {
		t.Fatal(err)
	}
	params := i18n.Params{"tables": "3", "what": "{tables}"}
	known := func(name string) (string, bool) { v, ok := params[name]; return v, ok }
	none := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		name   string
		lang   i18n.Lang
		key    string
		param  func(string) (string, bool)
		want   string
		wantOK bool
	}{
		{"zh", i18n.ZH, "a.restored", known, "已恢复 3 张表（{tables}）", true}, // a value is not filled again
		{"en", i18n.EN, "a.restored", known, "restored 3 tables ({tables})", true},
		{"no placeholders", i18n.EN, "a.plain", known, "done", true},
		{"unknown parameters stay", i18n.EN, "a.restored", none, "restored {tables} tables ({what})", false},
		{"unknown key", i18n.EN, "a.unknown", known, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, ok := cat.Render(c.lang, c.key, c.param); got != c.want || ok != c.wantOK {
				t.Errorf("Render = %q, %v; want %q, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
	if errs := cat.Check(); len(errs) != 0 {
		t.Errorf("Check: %v", errs)
	}
}

// TestT: the binary's catalog through T and Message, and what an unknown
// key reads as.
func TestT(t *testing.T) {
	if got := i18n.T(i18n.EN, "i18n.unknown", i18n.Params{"b": "2", "a": "1"}); got != "i18n.unknown a=1 b=2" {
		t.Errorf("an unknown key reads %q", got)
	}
	m := i18n.M("i18n.unknown", "x", "1")
	if s, ok := m.Render(i18n.ZH); ok || s != "" {
		t.Errorf("Render of an unknown key: %q, %v", s, ok)
	}
	if m.String() != "i18n.unknown x=1" {
		t.Errorf("String: %q", m.String())
	}
}

// TestRegisterRefuses: a key registered by two owners, a missing language
// file and a malformed one are refused, and nothing of the owner is added;
// the package's Register panics on them, so a binary with a broken catalog
// does not start.
func TestRegisterRefuses(t *testing.T) {
	both := func(zh, en map[string]string) map[i18n.Lang]map[string]string {
		return map[i18n.Lang]map[string]string{i18n.ZH: zh, i18n.EN: en}
	}
	cat := i18n.NewCatalog()
	if err := cat.Register("first", catalog(t, "m", both(map[string]string{"k.one": "一"}, map[string]string{"k.one": "one"})), "m"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"duplicate key", catalog(t, "m", both(map[string]string{"k.one": "一", "k.two": "二"}, map[string]string{"k.one": "one", "k.two": "two"})),
			"catalog of second: duplicate keys: k.one (already first's)"},
		{"duplicate key in one language only", catalog(t, "m", both(map[string]string{"k.two": "二"}, map[string]string{"k.one": "one", "k.two": "two"})),
			"duplicate keys: k.one (already first's)"},
		{"missing language", fstest.MapFS{"m/en.json": {Data: []byte(`{"k.two": "two"}`)}}, "zh-CN.json"},
		{"malformed", fstest.MapFS{"m/en.json": {Data: []byte(`{"k.two": "two"}`)}, "m/zh-CN.json": {Data: []byte(`{"k.two": 2}`)}}, "zh-CN.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := cat.Register("second", c.fsys, "m")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Register: %v; want %q", err, c.want)
			}
			if _, ok := cat.Lookup(i18n.EN, "k.two"); ok {
				t.Error("a refused catalog was added in part")
			}
		})
	}

	// The binary's catalog: drill registered "drill.title" (i18n's tests
	// import every owner).
	func() {
		defer func() {
			r := recover()
			if err, ok := r.(error); !ok || !strings.Contains(err.Error(), "drill.title (already drill's)") {
				t.Errorf("registering a key twice: %v", r)
			}
		}()
		i18n.Register("i18n-test", catalog(t, "m", both(map[string]string{"drill.title": "x"}, map[string]string{"drill.title": "x"})), "m")
	}()
}

// TestCheckFindsGaps: Check reports a key missing in a language and
// placeholders that differ between languages.
func TestCheckFindsGaps(t *testing.T) {
	cat := i18n.NewCatalog()
	if err := cat.Register("gaps", catalog(t, "m", map[i18n.Lang]map[string]string{
		i18n.ZH: {"g.only_zh": "只有中文", "g.params": "表 {table} 共 {rows} 行", "g.ok": "{a}{a}"},
		i18n.EN: {"g.params": "table {table}: {count} rows", "g.only_en": "English only", "g.ok": "{a}"},
	}), "m"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, err := range cat.Check() {
		got = append(got, err.Error())
	}
	want := []string{
		"gaps: key g.only_en has no zh-CN sentence",
		"gaps: key g.only_zh has no en sentence",
		"gaps: key g.params names {rows},{table} in zh-CN and {count},{table} in en",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
