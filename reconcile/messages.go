package reconcile

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are a reconciliation's words for documents that show its
// results (the monthly report): the kinds of difference, the statuses, and
// a one-sentence summary ("reconcile.summary") with the counts.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("reconcile", messages, "messages") }
