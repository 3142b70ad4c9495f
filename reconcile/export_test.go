package reconcile

// SetMaxPrefixes lowers maxPrefixes for a test; the returned function
// restores it.
func SetMaxPrefixes(n int) func() {
	old := maxPrefixes
	maxPrefixes = n
	return func() { maxPrefixes = old }
}
