package diagmodel

import "time"

// BackupSample is one of dbopsd's successful backups of the database, from
// its catalog: the backup-duration-trend and backup-size-trend checks fit
// their series of each backup type.
type BackupSample struct {
	At   time.Time `json:"at"`   // when it finished
	Type string    `json:"type"` // "full", "differential"
	// Seconds is how long it took; StoredBytes what it added to the
	// repository after deduplication and compression.
	Seconds     float64 `json:"seconds"`
	StoredBytes int64   `json:"stored_bytes"`
}
