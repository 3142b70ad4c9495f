// Package backup runs one backup: it decides whether the backup is a full or
// a differential (plan.go), lets the engine adapter write its parts into a
// repository.Writer, and commits the manifest last. Every attempt is
// recorded in the catalog, successful or not.
package backup
