package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Params are a sentence's data by placeholder name: {table} is
// Params["table"].
type Params map[string]string

// Catalog holds the sentences of every registered owner, by language and
// key. The package's functions use one Catalog for the whole binary; tests
// make their own.
type Catalog struct {
	mu     sync.RWMutex
	owner  map[string]string          // key -> the owner that registered it
	text   map[Lang]map[string]string // language -> key -> sentence
	owners []string
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	c := &Catalog{owner: map[string]string{}, text: map[Lang]map[string]string{}}
	for _, l := range Langs() {
		c.text[l] = map[string]string{}
	}
	return c
}

var std = NewCatalog()

// Register adds owner's sentences to the binary's catalog: the files
// dir/<lang>.json of fsys, one for every language of Langs, each a JSON
// object from key to sentence. Owners call it from init; it panics when a
// file is missing or does not parse, and when a key is already another
// owner's, so a binary with a broken catalog does not start (and a test
// that imports the owner fails).
func Register(owner string, fsys fs.FS, dir string) {
	if err := std.Register(owner, fsys, dir); err != nil {
		panic(err)
	}
}

// Register adds owner's sentences, read from dir/<lang>.json of fsys. A
// missing or malformed file, or a key another owner (or the same one)
// registered already, is an error, and nothing of owner's is added.
func (c *Catalog) Register(owner string, fsys fs.FS, dir string) error {
	read := map[Lang]map[string]string{}
	for _, l := range Langs() {
		name := path.Join(dir, string(l)+".json")
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("i18n: catalog of %s: %w", owner, err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("i18n: catalog of %s: %s: %w", owner, name, err)
		}
		read[l] = m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var dup []string
	seen := map[string]bool{}
	for _, m := range read {
		for key := range m {
			if other, ok := c.owner[key]; ok && !seen[key] {
				dup = append(dup, fmt.Sprintf("%s (already %s's)", key, other))
			}
			seen[key] = true
		}
	}
	if len(dup) > 0 {
		sort.Strings(dup)
		return fmt.Errorf("i18n: catalog of %s: duplicate keys: %s", owner, strings.Join(dup, ", "))
	}
	for l, m := range read {
		for key, s := range m {
			c.owner[key] = owner
			c.text[l][key] = s
		}
	}
	c.owners = append(c.owners, owner)
	return nil
}

// Lookup returns the sentence of key in lang, unfilled.
func Lookup(lang Lang, key string) (string, bool) { return std.Lookup(lang, key) }

// Lookup returns the sentence of key in lang, unfilled.
func (c *Catalog) Lookup(lang Lang, key string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.text[lang][key]
	return s, ok
}

// Keys returns the keys of lang that start with prefix, sorted.
func Keys(lang Lang, prefix string) []string { return std.Keys(lang, prefix) }

// Keys returns the keys of lang that start with prefix, sorted.
func (c *Catalog) Keys(lang Lang, prefix string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var keys []string
	for k := range c.text[lang] {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Owner returns the owner that registered key, "" for none.
func Owner(key string) string {
	std.mu.RLock()
	defer std.mu.RUnlock()
	return std.owner[key]
}

// Render is the sentence of key in lang with its placeholders filled by
// param. ok is false when the key is not in the catalog (the text is "")
// or param does not know a placeholder (which stays as {name} in the
// text): a caller that stored a fallback — the English a report was
// written with — shows that instead.
func Render(lang Lang, key string, param func(name string) (string, bool)) (text string, ok bool) {
	return std.Render(lang, key, param)
}

// Render is the sentence of key in lang with its placeholders filled by
// param; see the package's Render.
func (c *Catalog) Render(lang Lang, key string, param func(name string) (string, bool)) (string, bool) {
	tmpl, ok := c.Lookup(lang, key)
	if !ok {
		return "", false
	}
	return Fill(tmpl, param)
}

// T is the sentence of key in lang filled with params. A key the catalog
// does not know reads as the key and its parameters ("key a=1 b=2"); a
// placeholder params lacks stays as {name}. Neither happens with the
// messages of this version (the catalog tests check them).
func T(lang Lang, key string, params Params) string {
	tmpl, ok := Lookup(lang, key)
	if !ok {
		return describe(key, params)
	}
	s, _ := Fill(tmpl, params.lookup)
	return s
}

func (p Params) lookup(name string) (string, bool) {
	v, ok := p[name]
	return v, ok
}

// describe writes an unknown key with its parameters, sorted by name.
func describe(key string, params Params) string {
	parts := []string{key}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		parts = append(parts, k+"="+params[k])
	}
	return strings.Join(parts, " ")
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Fill replaces each {name} of tmpl with param(name). ok is false when
// param does not know a name; that placeholder stays as it is.
func Fill(tmpl string, param func(name string) (string, bool)) (text string, ok bool) {
	ok = true
	text = placeholder.ReplaceAllStringFunc(tmpl, func(ph string) string {
		v, found := param(ph[1 : len(ph)-1])
		if !found {
			ok = false
			return ph
		}
		return v
	})
	return text, ok
}

// Placeholders returns the names tmpl's placeholders use, sorted, each
// once.
func Placeholders(tmpl string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(tmpl, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Check returns what is wrong with the binary's catalog: a key that is in
// one language and not another, and a key whose sentences do not name the
// same placeholders in every language. Nil when all is well.
func Check() []error { return std.Check() }

// Check returns what is wrong with c; see the package's Check.
func (c *Catalog) Check() []error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var errs []error
	for key, owner := range c.owner {
		var ref []string
		var refLang Lang
		for _, l := range Langs() {
			s, ok := c.text[l][key]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: key %s has no %s sentence", owner, key, l))
				continue
			}
			ph := Placeholders(s)
			if refLang == "" {
				ref, refLang = ph, l
				continue
			}
			if !slices.Equal(ph, ref) {
				errs = append(errs, fmt.Errorf("%s: key %s names {%s} in %s and {%s} in %s", owner, key,
					strings.Join(ref, "},{"), refLang, strings.Join(ph, "},{"), l))
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}

// Owners returns the owners registered, in the order they registered.
func Owners() []string {
	std.mu.RLock()
	defer std.mu.RUnlock()
	return slices.Clone(std.owners)
}
