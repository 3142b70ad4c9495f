package mysql

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/dbopsd/dbopsd/engines"
)

// partsReader reads parts one after another, opening each when the one
// before it ends. Errors name the part.
type partsReader struct {
	ctx   context.Context
	src   engines.PartSource
	parts []engines.PartInfo
	cur   io.ReadCloser
	name  string
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if err := p.ctx.Err(); err != nil {
			return 0, err
		}
		if p.cur == nil {
			if len(p.parts) == 0 {
				return 0, io.EOF
			}
			p.name = p.parts[0].Name
			p.parts = p.parts[1:]
			rc, err := p.src.Open(p.ctx, p.name)
			if err != nil {
				return 0, fmt.Errorf("opening part %s: %w", p.name, err)
			}
			p.cur = rc
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.cur.Close()
			p.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			return n, fmt.Errorf("reading part %s: %w", p.name, err)
		}
		return n, nil
	}
}

func (p *partsReader) Close() error {
	if p.cur != nil {
		return p.cur.Close()
	}
	return nil
}

// Read-ahead depth: at most readAheadBuffers*readAheadSize bytes per
// loading table are held in memory.
const (
	readAheadBuffers = 8
	readAheadSize    = 256 << 10
)

// readAhead reads r on its own goroutine into a few buffers, so that
// whatever r does (decryption, decompression, network) overlaps with the
// consumer. Close stops the goroutine and closes r.
type readAhead struct {
	full   chan []byte
	free   chan []byte
	buf    []byte // the buffer being consumed (nil: none)
	off    int
	err    error
	errc   chan error
	cancel context.CancelFunc
	once   sync.Once
	done   chan struct{}
}

func newReadAhead(ctx context.Context, r io.ReadCloser, buffers, size int) *readAhead {
	ctx, cancel := context.WithCancel(ctx)
	ra := &readAhead{
		full: make(chan []byte, buffers), free: make(chan []byte, buffers),
		errc: make(chan error, 1), cancel: cancel, done: make(chan struct{}),
	}
	for i := 0; i < buffers; i++ {
		ra.free <- make([]byte, size)
	}
	go func() {
		defer close(ra.done)
		defer close(ra.full)
		defer r.Close()
		for {
			var buf []byte
			select {
			case buf = <-ra.free:
			case <-ctx.Done():
				ra.errc <- ctx.Err()
				return
			}
			n, err := io.ReadFull(r, buf[:cap(buf)])
			if n > 0 {
				select {
				case ra.full <- buf[:n]:
				case <-ctx.Done():
					ra.errc <- ctx.Err()
					return
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				ra.errc <- io.EOF
				return
			}
			if err != nil {
				ra.errc <- err
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.buf == nil || ra.off == len(ra.buf) {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		if ra.err != nil {
			return 0, ra.err
		}
		buf, ok := <-ra.full
		if !ok {
			ra.err = <-ra.errc
			return 0, ra.err
		}
		ra.buf, ra.off = buf, 0
	}
	n := copy(p, ra.buf[ra.off:])
	ra.off += n
	return n, nil
}

// Close stops reading ahead and waits for the reader goroutine.
func (ra *readAhead) Close() error {
	ra.once.Do(func() {
		ra.cancel()
		<-ra.done
	})
	return nil
}
