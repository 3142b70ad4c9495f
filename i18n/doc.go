// Package i18n renders every user-facing sentence and label of dbopsd —
// drill reports, register exports, alerts, the engines' notes, and the
// documents still to come (diagnosis findings, the data dictionary, the
// monthly report) — in the language a reader asked for: Chinese (zh-CN,
// the bureau's language and the default) or English.
//
// # What it owns
//
//   - the languages: Lang, ZH, EN, Default and the one NormalizeLang that
//     turns what a user typed ("zh", "zh_CN", "zh-Hans", "cn", "en-GB", ...)
//     into a Lang;
//   - the catalog: one sentence per key and language, with {name}
//     placeholders, and the one renderer that fills them (T, Render);
//   - Message, a key and its parameters, which a package can store (in a
//     report's JSON, the catalog, the register) and render later in any
//     language.
//
// It does not own the sentences. Each package that says something owns its
// keys and their sentences, in a messages/ directory beside its code with
// one file per language (messages/zh-CN.json, messages/en.json), embedded in
// the binary and registered from that package's messages.go:
//
//	//go:embed messages/*.json
//	var messages embed.FS
//
//	func init() { i18n.Register("drill", messages, "messages") }
//
// An engine adapter therefore carries its own notes in every language
// (engines/postgres/messages/, engines/mysql/messages/), and a new document
// adds its own messages/ directory rather than a table in a shared file.
//
// # Rules the catalog enforces
//
//   - A key belongs to one owner: registering a key twice panics at start,
//     naming both owners. Keys start with their owner's name ("drill.",
//     "register.", "postgres.") so that they cannot meet by accident.
//   - Every owner has a file for every language. That a key exists in every
//     language, and that its sentences name the same placeholders, is
//     checked by Check, which a test runs over every registered catalog
//     (i18n's own tests import every package that registers one).
//
// # Placeholders
//
// A sentence names its data as {name} (lower case letters and '_'). The
// data is shown as given: names of objects, numbers, what a server or a tool
// said. A word that itself needs translating (the kind of an object, a
// status) is rendered by its owner through another key before it is passed
// in. Render takes a function for the parameters, so that a renderer can
// compute one (a nested message, a list) only when the sentence names it;
// T takes a map.
//
// Server and tool text — CLI output, log lines, errors — is not in the
// catalog: it stays English, as written in the code.
package i18n
