// Package register owns the restore register (数据库恢复登记表): an
// append-only, hash-chained record of every request the daemon receives,
// every approval, refusal (with its reason), start and outcome (ARCHITECTURE.md,
// "Signed requests and the register"). It can be verified offline, anchored in the repository, and
// exported for the bureau.
//
// # File
//
// The register is a JSON-lines file in the state directory (FileName,
// mode 0600). Each line is one Entry, written by Append under an exclusive
// lock and fsynced before Append returns. An entry carries its sequence
// number (1, 2, ...), the hash of the entry before it (Prev; 64 zeros for the
// first) and its own hash: the hex SHA-256 of its canonical bytes, which are
// the line itself without the "hash" field. The line is exactly the JSON
// encoding of Entry (fields in declaration order, empty fields omitted, no
// insignificant whitespace), so any change to a line, even one that keeps
// the JSON's meaning, is visible.
//
// # Verification
//
// Verify reads a register and names the first bad line: an edited entry
// (its content does not match its hash, or it is not in canonical form), a
// deleted one (a gap in the sequence), an inserted one (a repeated or forged
// sequence number, or a broken chain), reordered ones. Rewriting the chain
// from some entry to the end, or cutting entries off the end, leaves a
// consistent file; anchors catch that: WriteAnchor stores the head's
// sequence number and hash as a new object under register/anchors/ in the
// repository's storage (on object-locked storage, it cannot be changed), and
// Verify checks that the register still holds every anchored entry, unchanged.
//
// # Export
//
// Rows folds the entries into one row per received request; WriteCSV and
// WriteXLSX write them with the columns a bureau asks for (日期, 数据库,
// 使用的备份, 恢复目标, 申请人, 审批人, 原因, 结果, 耗时), in Chinese by
// default or English. The XLSX writer is a small SpreadsheetML writer on
// archive/zip: one sheet of inline strings needs no spreadsheet library.
package register
