package restore

import (
	"strings"

	"github.com/dbopsd/dbopsd/engines"
)

// didYouMeanTable suggests the tables of a backup that t, which it does
// not hold, may have meant: the same name in another schema ("hall.staff"
// for "staff") or in another case. It is "" when there is none, or too
// many to be a suggestion.
func didYouMeanTable(tables []engines.TableStats, t engines.TableRef) string {
	var near []string
	for _, ts := range tables {
		if strings.EqualFold(ts.Table.Name, t.Name) {
			near = append(near, ts.Table.String())
		}
	}
	if len(near) == 0 || len(near) > 5 {
		return ""
	}
	return " (did you mean " + strings.Join(near, " or ") + "?)"
}
