package daemon

import "github.com/dbopsd/dbopsd/internal/fault"

// Transient reports whether a failed job is worth another attempt. It is
// fault.IsTransient: the sources mark their errors (storage 5xx, engine
// connection losses and server states, a backup lock held by another
// backup as transient; access denied, a missing database, a wrong
// repository passphrase, a failed verification as permanent), and the
// daemon reads no error text (ARCHITECTURE.md, "Errors and retries").
func Transient(err error) bool { return fault.IsTransient(err) }
