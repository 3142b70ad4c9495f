package mirror

import (
	"bytes"
	"context"
	"io"

	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/storage"
)

// sameConfig says whether the mirror's config object is byte for byte the
// primary's. Sizes are not enough: a repository moving from format 2 to 3
// rewrites its config with the same size (repository/rows.go), and a mirror
// left at 2 would let an older dbopsd misread the parts of format 3.
func sameConfig(ctx context.Context, primary, mirror storage.Storage) bool {
	read := func(st storage.Storage) []byte {
		rc, err := st.Get(ctx, repository.ConfigKey)
		if err != nil {
			return nil
		}
		defer rc.Close()
		b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
		return b
	}
	p, m := read(primary), read(mirror)
	return p != nil && bytes.Equal(p, m)
}
