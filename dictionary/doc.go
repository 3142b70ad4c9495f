// Package dictionary produces a database's data dictionary (数据字典): it
// asks the engine adapter for the neutral model (engines/dictmodel) through
// the Collector capability, and renders the model as JSON, Markdown in the
// tbls layout (an index plus one file per table), one self-contained HTML
// page and an xlsx workbook, with a small ER diagram per table drawn by
// Graphviz's dot. It compares a dictionary with the previous one stored
// through history (kind "dictionary") to mark what changed, measures how
// much of the schema is commented, and turns a file of comments the
// business side filled in into the statements that would apply them.
//
// # Capabilities
//
// Collector is implemented in engines/postgres/dictionary.go and
// engines/mysql/dictionary.go and discovered by type assertion: an engine
// without it yields ErrNotSupported, which callers report as "not
// supported", never as a failure of the job.
//
// # Renderers
//
// The renderers read only the model, so a stored dictionary renders again
// later. Headings go through the message catalog (zh-CN by default); object
// names and comments appear exactly as the server stores them.
package dictionary
