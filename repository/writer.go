package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository/rowset"
	"github.com/dbopsd/dbopsd/storage"
)

// BackupOptions says what a new backup is.
type BackupOptions struct {
	ID       string // from NewBackupID; generated when empty
	Database string
	Engine   string
	Type     string // Full or Differential
	// Base is the generation's full backup, for a differential.
	Base    *Manifest
	Reason  string
	Trigger string
	// Uploads is how many chunks are compressed, sealed and stored at once
	// (default 4).
	Uploads int
	// RetainUntil is passed to every object written (object lock).
	RetainUntil time.Time
	// Progress, when set, is called (from several goroutines) as bytes are
	// read from the engine (raw) and written to storage (stored).
	Progress func(raw, stored int64)
	// TempDir is where row-level differentials spill (rows.go): the state
	// directory's "tmp" in production; empty means the system's. What an
	// interrupted backup of the same database left there is removed when
	// the next one starts.
	TempDir string
}

// Writer builds one backup. It implements engines.PartSink; Commit writes the
// manifest, Abort gives up. A Writer that is neither committed nor aborted
// leaves only unreferenced chunks, which prune removes.
type Writer struct {
	r    *Repo
	m    Manifest
	opts BackupOptions

	ctx    context.Context
	cancel context.CancelCauseFunc
	// stopped is set with the first cancel, for the part writers' fast
	// path, which appends without looking at ctx.
	stopped atomic.Bool

	mu    sync.Mutex
	known map[string]uint32 // chunk id -> stored size; 0 while its upload runs
	parts []*Part
	open  int // parts created and not yet closed
	done  bool

	// send guards uploads: part writers hold it for reading while they
	// may send, finish holds it for writing to close the channel.
	send     sync.RWMutex
	finished bool
	uploads  chan upload
	workers  sync.WaitGroup

	raw, stored atomic.Int64
	newChunks   atomic.Int64

	// tmp is this backup's directory for spilled rows.
	tmp  string
	seal *rowset.Sealer // seals what is spilled there, and counts it (rows.go)
	// background: goroutines of row-level differentials (rows.go);
	// recomputeSlot lets one of them read a full's part back at a time.
	background    sync.WaitGroup
	recomputeSlot chan struct{}
}

type upload struct {
	id   string
	data *[]byte
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkMax); return &b }}

// NewBackup starts a backup. For a differential, opts.Base names the full
// whose generation it joins, and the chunks that generation already holds
// are not written again: this is where a differential decides which chunks
// to write.
func (r *Repo) NewBackup(ctx context.Context, opts BackupOptions) (*Writer, error) {
	if err := validName(opts.Database); err != nil {
		return nil, err
	}
	r.upgradeConfig(ctx)
	if opts.ID == "" {
		opts.ID = NewBackupID(time.Now())
	}
	if opts.Uploads <= 0 {
		opts.Uploads = 4
	}
	host, _ := os.Hostname()
	w := &Writer{r: r, opts: opts, known: make(map[string]uint32)}
	w.m = Manifest{
		Version: ManifestVersion, ID: opts.ID, Database: opts.Database, Engine: opts.Engine,
		Type: opts.Type, Chunker: Chunker, Reason: opts.Reason, Trigger: opts.Trigger, Host: host,
		StartedAt: time.Now().UTC(), RetainUntil: opts.RetainUntil.UTC(),
	}
	switch opts.Type {
	case Full:
		w.m.Generation = opts.ID
	case Differential:
		if opts.Base == nil {
			return nil, errors.New("a differential backup needs its full backup")
		}
		if !opts.Base.SameChunker() {
			return nil, fmt.Errorf("full backup %s was cut into chunks by an earlier dbopsd (%s): a differential on it would share no chunks; take a full", opts.Base.ID, opts.Base.ChunkerName())
		}
		w.m.Generation, w.m.Base = opts.Base.Generation, opts.Base.ID
		known, err := r.GenerationChunks(ctx, opts.Database, opts.Base.Generation)
		if err != nil {
			return nil, fmt.Errorf("collecting the chunks of generation %s: %w", opts.Base.Generation, err)
		}
		w.known = known
	default:
		return nil, fmt.Errorf("unknown backup type %q", opts.Type)
	}
	if err := w.makeTempDir(); err != nil {
		return nil, err
	}
	var cancel context.CancelCauseFunc
	w.ctx, cancel = context.WithCancelCause(ctx)
	w.cancel = func(cause error) {
		w.stopped.Store(true)
		cancel(cause)
	}
	w.uploads = make(chan upload, opts.Uploads)
	for range opts.Uploads {
		w.workers.Add(1)
		go w.uploadLoop()
	}
	return w, nil
}

// ID is the backup's id.
func (w *Writer) ID() string { return w.m.ID }

// Generation is the generation the backup belongs to.
func (w *Writer) Generation() string { return w.m.Generation }

// Stored is the number of bytes stored so far.
func (w *Writer) Stored() int64 { return w.stored.Load() }

// Raw is the number of bytes read from the engine so far.
func (w *Writer) Raw() int64 { return w.raw.Load() }

var _ engines.PartSink = (*Writer)(nil)

// CreatePart implements engines.PartSink. A table part of rows (Shape set)
// is fingerprinted in a full and may be stored as rows in a differential
// (rows.go).
func (w *Writer) CreatePart(ctx context.Context, info engines.PartInfo) (io.WriteCloser, error) {
	pw, err := w.createPart(info)
	if err != nil || info.Kind != engines.KindTable || info.Shape == "" {
		return pw, err
	}
	if w.m.Type == Full {
		return w.fingerprinting(pw), nil
	}
	return w.rowsOrChunks(pw), nil
}

func (w *Writer) createPart(info engines.PartInfo) (*partWriter, error) {
	if err := context.Cause(w.ctx); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil, errClosed
	}
	for _, p := range w.parts {
		if p.Name == info.Name {
			return nil, fmt.Errorf("part %q created twice", info.Name)
		}
	}
	p := &Part{PartInfo: info}
	w.parts = append(w.parts, p)
	w.open++
	buf := bufPool.Get().(*[]byte)
	*buf = (*buf)[:0]
	return &partWriter{w: w, p: p, buf: buf}, nil
}

// partWriter is what an engine writes a part into. It cuts chunks as the
// bytes arrive, on the engine's goroutine: a part is written by one
// goroutine, and several parts are written at once.
type partWriter struct {
	w *Writer
	p *Part
	// buf holds the bytes of the chunk being cut (capacity chunkMax);
	// scanned of them were searched for a boundary without finding one.
	buf     *[]byte
	scanned int
	err     error
	closed  bool
	// dry only measures: it cuts and names chunks, stores nothing and
	// counts in dryNew the bytes of chunks the generation lacks (rows.go).
	dry    bool
	dryNew int64
	// spooled: the raw bytes were reported as they were spooled (rows.go).
	spooled bool
}

// feedMax is how many bytes may arrive before the boundary search runs:
// small writes (a COPY row each) are only appended, and what follows a
// boundary, copied once more, stays under twice this.
const feedMax = 256 << 10

func (p *partWriter) Write(b []byte) (int, error) {
	if p.err == nil && p.buf != nil && !p.w.stopped.Load() && len(*p.buf)-p.scanned+len(b) < feedMax && len(*p.buf)+len(b) <= chunkMax {
		*p.buf = append(*p.buf, b...)
		return len(b), nil
	}
	p.w.send.RLock()
	defer p.w.send.RUnlock()
	if p.err == nil && (p.closed || p.w.finished) {
		p.err = errClosed
	}
	if p.err == nil {
		p.err = context.Cause(p.w.ctx)
	}
	if p.err != nil {
		return 0, p.err
	}
	n := len(b)
	for len(b) > 0 {
		take := min(len(b), feedMax, chunkMax-len(*p.buf))
		*p.buf = append(*p.buf, b[:take]...)
		b = b[take:]
		if p.err = p.cutAll(); p.err != nil {
			return n - len(b), p.err
		}
	}
	return n, nil
}

// cutAll emits every chunk whose end the bytes in buf show.
func (p *partWriter) cutAll() error {
	for {
		c := p.w.r.cdc.cut(*p.buf, p.scanned)
		if c == 0 {
			p.scanned = len(*p.buf)
			return nil
		}
		if err := p.emit(c); err != nil {
			return err
		}
	}
}

// emit records the first c bytes of buf as a chunk of the part and, if the
// repository does not hold it yet, hands them to an upload worker.
func (p *partWriter) emit(c int) error {
	w := p.w
	data, rest := (*p.buf)[:c], (*p.buf)[c:]
	id := w.r.keys.chunkID(data)
	if p.dry {
		w.mu.Lock()
		if _, have := w.known[id]; !have {
			p.dryNew += int64(c)
		}
		w.mu.Unlock()
		p.scanned = 0
		*p.buf = (*p.buf)[:copy(*p.buf, rest)]
		return nil
	}
	p.p.Chunks = append(p.p.Chunks, ChunkRef{ID: id, Size: uint32(c)})
	p.p.Size += int64(c)
	w.raw.Add(int64(c))
	w.mu.Lock()
	_, have := w.known[id]
	if !have {
		w.known[id] = 0
	}
	w.mu.Unlock()
	p.scanned = 0
	if have {
		*p.buf = (*p.buf)[:copy(*p.buf, rest)]
	} else {
		// The chunk leaves in this buffer; what follows it starts the next.
		next := bufPool.Get().(*[]byte)
		*next = append((*next)[:0], rest...)
		*p.buf = data
		u := upload{id: id, data: p.buf}
		p.buf = next
		select {
		case w.uploads <- u:
		case <-w.ctx.Done():
			bufPool.Put(u.data)
			return context.Cause(w.ctx)
		}
	}
	if w.opts.Progress != nil && !p.spooled {
		w.opts.Progress(int64(c), 0)
	}
	return nil
}

// Close finishes the part: its last chunk is cut, and every chunk of the
// part has been handed to an upload worker when it returns (Commit waits
// for the uploads themselves).
func (p *partWriter) Close() error {
	p.w.send.RLock()
	defer p.w.send.RUnlock()
	if p.closed {
		return p.err
	}
	p.closed = true
	if p.err == nil && p.w.finished {
		p.err = errClosed
	}
	if p.err == nil {
		p.err = p.cutAll()
	}
	if p.err == nil && len(*p.buf) > 0 {
		p.err = p.emit(len(*p.buf))
	}
	bufPool.Put(p.buf)
	p.buf = nil
	if !p.dry {
		p.w.mu.Lock()
		p.w.open--
		p.w.mu.Unlock()
	}
	return p.err
}

func (w *Writer) uploadLoop() {
	defer w.workers.Done()
	var zbuf, sbuf []byte
	for u := range w.uploads {
		if w.ctx.Err() != nil {
			bufPool.Put(u.data)
			continue
		}
		zbuf = w.r.enc.EncodeAll(*u.data, zbuf[:0])
		bufPool.Put(u.data)
		sbuf = w.r.keys.seal(sbuf[:0], zbuf, []byte(u.id))
		key := chunkKey(w.m.Database, w.m.Generation, u.id)
		if err := w.r.st.Put(w.ctx, key, bytes.NewReader(sbuf), int64(len(sbuf)), storage.PutOptions{RetainUntil: w.opts.RetainUntil}); err != nil {
			w.cancel(fmt.Errorf("storing chunk %s: %w", u.id[:12], err))
			continue
		}
		w.mu.Lock()
		w.known[u.id] = uint32(len(sbuf))
		w.mu.Unlock()
		w.stored.Add(int64(len(sbuf)))
		w.newChunks.Add(1)
		if w.opts.Progress != nil {
			w.opts.Progress(0, int64(len(sbuf)))
		}
	}
}

// finish stops accepting parts and waits for every upload.
func (w *Writer) finish() error {
	w.mu.Lock()
	already := w.done
	w.done = true
	w.mu.Unlock()
	if !already {
		w.send.Lock()
		w.finished = true
		close(w.uploads)
		w.send.Unlock()
		w.workers.Wait()
	}
	return context.Cause(w.ctx)
}

// Commit waits for every chunk to be stored, then writes the manifest: from
// this moment the backup exists. Every part must have been closed.
func (w *Writer) Commit(ctx context.Context, snap *engines.Snapshot) (*Manifest, error) {
	w.mu.Lock()
	open := w.open
	w.mu.Unlock()
	if open > 0 {
		err := fmt.Errorf("internal error: %d parts were not closed", open)
		w.Abort(err)
		return nil, err
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	m := w.m
	m.Snapshot = snap
	m.FinishedAt = time.Now().UTC()
	m.Parts = make([]Part, 0, len(w.parts))
	for _, p := range append(w.parts, w.inheritedFingerprints()...) {
		for i := range p.Chunks {
			st := w.known[p.Chunks[i].ID]
			if st == 0 {
				return nil, fmt.Errorf("internal error: chunk %s of part %s has no stored size", p.Chunks[i].ID, p.Name)
			}
			p.Chunks[i].Stored = st
			m.Stats.ReferencedBytes += int64(st)
		}
		m.Stats.Chunks += len(p.Chunks)
		m.Stats.RawBytes += p.Size
		m.Parts = append(m.Parts, *p)
	}
	m.Stats.StoredBytes = w.stored.Load()
	m.Stats.NewChunks = int(w.newChunks.Load())
	if need := rowsFormatOf(&m); need > 0 {
		if err := w.r.raiseFormat(ctx, need); err != nil {
			return nil, err
		}
	}
	prev, err := w.r.predecessor(ctx, m.Database)
	if err != nil {
		return nil, fmt.Errorf("finding the backup this one follows: %w", err)
	}
	m.Previous = &prev
	hash, err := w.r.writeManifest(ctx, &m, storage.PutOptions{RetainUntil: w.opts.RetainUntil})
	if err != nil {
		return nil, err
	}
	// The backup exists now. A head left behind (a crash here, a failed
	// write) is no gap: the manifests after it chain back to it.
	if err := w.r.writeHead(ctx, m.Database, Link{ID: m.ID, Generation: m.Generation, Hash: hash}); err != nil {
		w.r.logger.Warn("the backup is stored, but its database's head was not updated (the next backup does)", "backup", m.ID, "error", err)
	}
	w.cancel(errClosed)
	w.removeTempDir()
	return &m, nil
}

// Cancel stops the backup with cause without waiting; the engine sees its
// writes fail. Call Abort afterwards.
func (w *Writer) Cancel(cause error) { w.cancel(cause) }

// Err is the reason the backup stopped, if it did.
func (w *Writer) Err() error { return context.Cause(w.ctx) }

// Abort gives up the backup: nothing is listed. Chunks already stored stay
// until prune removes them.
func (w *Writer) Abort(cause error) {
	if cause == nil {
		cause = errors.New("backup aborted")
	}
	w.cancel(cause)
	_ = w.finish()
	w.removeTempDir()
}
