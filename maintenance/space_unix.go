//go:build unix

package maintenance

import "golang.org/x/sys/unix"

// freeBytes is the space an unprivileged writer may use in dir's file
// system (the server writes as its own user, not root).
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
