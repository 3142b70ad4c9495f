package repository

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/storage"
)

// prefetch is how many chunks of one part are fetched ahead of the reader.
const prefetch = 4

// Source reads the parts of one backup. It implements engines.PartSource.
type Source struct {
	r    *Repo
	m    *Manifest
	read atomic.Int64
}

var _ engines.PartSource = (*Source)(nil)

// Source returns a reader for the parts of m.
func (r *Repo) Source(m *Manifest) *Source { return &Source{r: r, m: m} }

// Read is the number of plaintext bytes handed out so far.
func (s *Source) Read() int64 { return s.read.Load() }

// Parts implements engines.PartSource. A full's row fingerprint parts are
// the repository's own and not listed.
func (s *Source) Parts() []engines.PartInfo {
	out := make([]engines.PartInfo, 0, len(s.m.Parts))
	for _, p := range s.m.Parts {
		if p.Kind != KindRowFingerprints {
			out = append(out, p.PartInfo)
		}
	}
	return out
}

// Open implements engines.PartSource. The returned reader fetches chunks
// ahead of the caller and authenticates each one; a damaged chunk surfaces as
// a read error naming the part, the chunk and the backup.
func (s *Source) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	p, ok := s.m.Part(name)
	if !ok {
		return nil, fmt.Errorf("backup %s has no part %q", s.m.ID, name)
	}
	if p.Rows != nil {
		return s.openRows(ctx, p) // rows.go: the full's lines, less and more
	}
	return s.openChunks(ctx, p), nil
}

func (s *Source) openChunks(ctx context.Context, p *Part) io.ReadCloser {
	return s.openChunksAhead(ctx, p, prefetch)
}

// openChunksAhead reads p fetching ahead chunks at a time: fewer where
// memory counts more than speed (a differential reading its full back).
func (s *Source) openChunksAhead(ctx context.Context, p *Part, ahead int) io.ReadCloser {
	ctx, cancel := context.WithCancel(ctx)
	pr := &partReader{s: s, part: p, cancel: cancel, results: make(chan chan chunkResult, ahead)}
	go pr.fetchAll(ctx)
	return pr
}

type chunkResult struct {
	data []byte
	err  error
}

type partReader struct {
	s       *Source
	part    *Part
	cancel  context.CancelFunc
	results chan chan chunkResult
	cur     []byte
	err     error
}

// fetchAll starts one fetch per chunk, at most prefetch ahead of Read, and
// queues their results in order.
func (p *partReader) fetchAll(ctx context.Context) {
	defer close(p.results)
	for _, c := range p.part.Chunks {
		res := make(chan chunkResult, 1)
		select {
		case p.results <- res:
		case <-ctx.Done():
			return
		}
		go func(c ChunkRef) {
			data, err := p.s.r.readChunk(ctx, p.s.m.Database, p.s.m.Generation, c, false)
			res <- chunkResult{data, err}
		}(c)
	}
}

func (p *partReader) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		res, ok := <-p.results
		if !ok {
			p.err = io.EOF
			return 0, io.EOF
		}
		r := <-res
		if r.err != nil {
			p.err = fmt.Errorf("backup %s, part %s: %w", p.s.m.ID, p.part.Name, r.err)
			p.cancel()
			return 0, p.err
		}
		p.cur = r.data
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	p.s.read.Add(int64(n))
	return n, nil
}

func (p *partReader) Close() error {
	p.cancel()
	for res := range p.results { // let in-flight fetches finish
		<-res
	}
	return nil
}

// ErrDamaged marks a chunk that is missing, of the wrong size, or fails
// authentication.
var ErrDamaged = errors.New("damaged")

// readChunk fetches, authenticates and decompresses one chunk; with rehash
// it also recomputes the chunk's id from its content. AES-GCM with the id as
// associated data already proves that the chunk is the one the manifest
// names (only the key holder can seal it), so restores skip the re-hash;
// check --read-data does it, to catch a bug anywhere on the write path.
func (r *Repo) readChunk(ctx context.Context, database, generation string, c ChunkRef, rehash bool) ([]byte, error) {
	key := chunkKey(database, generation, c.ID)
	rc, err := r.st.Get(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("chunk %s is missing: %w", c.ID, ErrDamaged)
	}
	if err != nil {
		return nil, fmt.Errorf("reading chunk %s: %w", c.ID, err)
	}
	sealed, err := io.ReadAll(io.LimitReader(rc, int64(c.Stored)+1))
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("reading chunk %s: %w", c.ID, err)
	}
	if len(sealed) != int(c.Stored) {
		return nil, fmt.Errorf("chunk %s has %d bytes, the manifest says %d: %w", c.ID, len(sealed), c.Stored, ErrDamaged)
	}
	z, err := r.keys.open(nil, sealed, []byte(c.ID))
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %v: %w", c.ID, err, ErrDamaged)
	}
	plain, err := r.dec.DecodeAll(z, make([]byte, 0, c.Size))
	if err != nil || len(plain) != int(c.Size) {
		return nil, fmt.Errorf("chunk %s does not decompress to its %d bytes: %w", c.ID, c.Size, ErrDamaged)
	}
	if rehash && !hmac.Equal([]byte(r.keys.chunkID(plain)), []byte(c.ID)) {
		return nil, fmt.Errorf("chunk %s content does not match its id: %w", c.ID, ErrDamaged)
	}
	return plain, nil
}
