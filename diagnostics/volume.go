package diagnostics

import (
	"fmt"
	"syscall"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// VolumeOf measures the volume holding path: used and total bytes as df
// shows them (total less the blocks reserved for root is what a database
// can fill).
func VolumeOf(path string) (*diagmodel.Volume, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("measuring the volume of %s: %w", path, err)
	}
	bs := int64(st.Bsize)
	used := (int64(st.Blocks) - int64(st.Bfree)) * bs
	total := used + int64(st.Bavail)*bs
	return &diagmodel.Volume{UsedBytes: used, TotalBytes: total, Source: "statfs"}, nil
}
