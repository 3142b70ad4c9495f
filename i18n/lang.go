package i18n

import (
	"fmt"
	"strings"
)

// Lang is a language of the catalog.
type Lang string

// The languages of the catalog. Their values are what policies and flags
// say (language = "zh-CN"), what reports store, and the names of the
// catalog files.
const (
	ZH Lang = "zh-CN"
	EN Lang = "en"

	// Default is the language of a document that asks for none.
	Default = ZH
)

// Langs are the catalog's languages, Default first.
func Langs() []Lang { return []Lang{ZH, EN} }

// NormalizeLang turns a language as a user wrote it into a Lang. Case and
// '_' versus '-' do not matter; "" is Default. Chinese: zh, zh-CN, zh-Hans,
// zh-Hans-CN, zh-SG, cn; English: en and any en-<region> (en-US, en_GB).
func NormalizeLang(s string) (Lang, error) {
	norm := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	switch norm {
	case "", "zh", "zh-cn", "zh-hans", "zh-hans-cn", "zh-sg", "cn":
		return ZH, nil
	case "en":
		return EN, nil
	}
	if region, ok := strings.CutPrefix(norm, "en-"); ok && region != "" && !strings.Contains(region, "-") {
		return EN, nil
	}
	return "", fmt.Errorf("language %q: want zh-CN or en", s)
}

// String is the language's name, as NormalizeLang accepts it.
func (l Lang) String() string { return string(l) }
