package site

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the sentences site itself puts before readers ("site.<...>"):
// today the report's notes on what the stored dictionaries cannot tell.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("site", messages, "messages") }
