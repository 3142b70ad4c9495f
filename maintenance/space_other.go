//go:build !unix

package maintenance

import "errors"

func freeBytes(string) (int64, error) {
	return 0, errors.New("free space is not measurable on this system")
}
