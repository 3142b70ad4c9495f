package diagnostics

import (
	"fmt"
	"strings"

	"github.com/dbopsd/dbopsd/i18n"
)

// Pages returns the check pages, by file name under docs/checks/: one page
// per check (Chinese first, then English) and README.md, the index. They
// are generated from the catalog the code uses, so a page cannot say other
// than a finding does; TestCheckPages fails when the files are stale.
func Pages() map[string]string {
	pages := map[string]string{}
	var index strings.Builder
	for _, l := range i18n.Langs() {
		fmt.Fprintf(&index, "# %s\n\n", i18n.T(l, "diagnostics.page.index", nil))
		fmt.Fprintf(&index, "| %s | %s | %s | %s |\n|---|---|---|---|\n", i18n.T(l, "diagnostics.page.id", nil),
			i18n.T(l, "diagnostics.page.priority", nil), i18n.T(l, "diagnostics.page.group", nil), i18n.T(l, "diagnostics.page.level", nil))
		for _, c := range Checks() {
			fmt.Fprintf(&index, "| [%s](%s.md) %s | %d | %s | %s |\n", c.ID, c.ID, i18n.T(l, "diagnostics.check."+c.ID+".title", nil),
				c.Priority, i18n.T(l, "diagnostics.group."+c.Group, nil), i18n.T(l, "diagnostics.level."+c.Level, nil))
		}
		index.WriteString("\n")
	}
	index.WriteString(i18n.T(i18n.ZH, "diagnostics.page.generated", nil) + "\n\n" + i18n.T(i18n.EN, "diagnostics.page.generated", nil) + "\n")
	pages["README.md"] = index.String()
	for _, c := range Checks() {
		pages[c.ID+".md"] = page(c)
	}
	return pages
}

func page(c Check) string {
	var b strings.Builder
	key := "diagnostics.check." + c.ID
	for _, l := range i18n.Langs() {
		t := func(k string) string { return i18n.T(l, k, nil) }
		engines := t("diagnostics.page.all_engines")
		if c.Engines != nil {
			engines = strings.Join(c.Engines, ", ")
		}
		fmt.Fprintf(&b, "# %s\n\n", t(key+".title"))
		fmt.Fprintf(&b, "- %s: `%s`\n- %s: %d\n- %s: %s\n- %s: %s\n- %s: %s\n\n",
			t("diagnostics.page.id"), c.ID, t("diagnostics.page.priority"), c.Priority,
			t("diagnostics.page.group"), t("diagnostics.group."+c.Group),
			t("diagnostics.page.level"), t("diagnostics.level."+c.Level),
			t("diagnostics.page.engines"), engines)
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", t("diagnostics.page.what"), t(key+".what"))
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", t("diagnostics.page.why"), t(key+".why"))
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", t("diagnostics.page.todo"), t(key+".todo"))
	}
	b.WriteString("---\n\n" + i18n.T(i18n.ZH, "diagnostics.page.generated", nil) + "\n\n" + i18n.T(i18n.EN, "diagnostics.page.generated", nil) + "\n")
	return b.String()
}
