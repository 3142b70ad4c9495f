//go:build !unix

package daemon

import "os"

// lockState is a no-op where flock does not exist.
func lockState(string) (*os.File, error) { return nil, nil }
