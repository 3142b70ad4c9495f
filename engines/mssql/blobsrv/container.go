package blobsrv

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dbopsd/dbopsd/engines"
)

// Azure's limits, which SQL Server plans its stripes around.
const (
	// MaxBlocks is the most blocks a committed blob may have.
	MaxBlocks = 50_000
	// maxStaged is the most uncommitted blocks a blob may have.
	maxStaged = 100_000
	// maxBlockSize is the largest block Put Block accepts (4000 MiB).
	maxBlockSize = 4000 << 20
	// maxBlockListBody bounds a Put Block List's XML: 50,000 entries of
	// an id of at most 64 bytes, base64-encoded, in their elements.
	maxBlockListBody = 8 << 20
)

// FormatBlock is the PartInfo.Format of a part holding one block.
const FormatBlock = "azure-block"

// Blob is a committed blob: its blocks, in order. A backup stores the list
// of its Blobs; a restore serves them back from it.
type Blob struct {
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Blocks   []Block   `json:"blocks"`
	Modified time.Time `json:"modified"`

	// ends[i] is where block i ends in the blob: the index a ranged read
	// finds its first block in by binary search instead of walking the
	// list (50,000 blocks a stripe; SQL Server reads a stripe in some
	// ten thousand ranges). Built by index.
	ends []int64
}

// index builds b.ends from b.Blocks.
func (b *Blob) index() {
	b.ends = make([]int64, len(b.Blocks))
	var end int64
	for i, blk := range b.Blocks {
		end += blk.Size
		b.ends[i] = end
	}
}

// blockAt is the index of the block holding byte off of the blob and where
// that block starts; len(b.Blocks) when off is past the end. Every
// committed or served blob is indexed before any read sees it.
func (b *Blob) blockAt(off int64) (int, int64) {
	i := sort.Search(len(b.ends), func(i int) bool { return b.ends[i] > off })
	if i == 0 {
		return 0, 0
	}
	return i, b.ends[i-1]
}

// Block is one block of a blob and the part holding its bytes.
type Block struct {
	ID   string `json:"id"` // base64, as the client named it
	Part string `json:"part"`
	Size int64  `json:"size"`
}

func (b *Blob) etag() string {
	return fmt.Sprintf("\"0x%X\"", b.Modified.UnixNano())
}

// Container is the container of one backup (Receive) or one restore
// (Send).
type Container struct {
	s    *Server
	name string
	sas  string
	ctx  context.Context

	// sink receives the blocks of a backup; src reads them on restore.
	// Exactly one is set.
	sink       engines.PartSink
	partPrefix string
	src        engines.PartSource

	// cache holds the last blocks read whole, for a restore's ranged
	// reads: SQL Server reads a block in several ranges, and a part is
	// decoded from its start.
	cache blockCache

	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
	seq    int
	staged map[string]map[string]Block // blob -> block id -> block
	blobs  map[string]*Blob
	err    error // the first error storing a block
}

// Receive opens a container for a backup: blocks written to it become parts
// of sink named partPrefix followed by a sequence number. The container
// lives until Close or ctx's end; its SAS grants writing, creating and
// deleting until expiry.
func (s *Server) Receive(ctx context.Context, sink engines.PartSink, partPrefix string, expiry time.Time) *Container {
	c := &Container{s: s, name: newContainerName("dbopsd-backup"), ctx: ctx, sink: sink, partPrefix: partPrefix,
		staged: map[string]map[string]Block{}, blobs: map[string]*Blob{}}
	c.sas = s.containerSAS(c.name, "cwdl", expiry)
	s.register(c)
	context.AfterFunc(ctx, func() { c.Close() })
	return c
}

// Send opens a container for a restore, serving blobs (as a backup's
// Receive container returned them) from src. Its SAS grants reading and
// listing until expiry.
func (s *Server) Send(ctx context.Context, src engines.PartSource, blobs []Blob, expiry time.Time) *Container {
	c := &Container{s: s, name: newContainerName("dbopsd-restore"), ctx: ctx, src: src, blobs: map[string]*Blob{}}
	for i := range blobs {
		b := blobs[i]
		b.index()
		c.blobs[b.Name] = &b
	}
	c.sas = s.containerSAS(c.name, "rl", expiry)
	s.register(c)
	context.AfterFunc(ctx, func() { c.Close() })
	return c
}

// Name is the container's name.
func (c *Container) Name() string { return c.name }

// URL is the container's URL, without a SAS: SQL Server's CREATE
// CREDENTIAL is named after it.
func (c *Container) URL() string { return c.s.url + "/" + c.name }

// BlobURL is the URL of a blob of the container, without a SAS.
func (c *Container) BlobURL(blob string) string { return c.s.BlobURL(c.name, blob) }

// SAS is the container's shared access signature, a query string without
// the leading '?': the SECRET of SQL Server's CREATE CREDENTIAL.
func (c *Container) SAS() string { return c.sas }

// Close ends the container: later requests find no container, and Close
// waits for those in flight. It returns the committed blobs sorted by name,
// and the first error storing a block (a backup with one did not store
// what SQL Server sent). Blocks never committed were written as parts, but
// no blob names them.
func (c *Container) Close() ([]Blob, error) {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first {
		c.s.unregister(c)
	}
	c.active.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Blob, 0, len(c.blobs))
	for _, b := range c.blobs {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, c.err
}

func (c *Container) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.active.Add(1)
	return true
}

func (c *Container) leave() { c.active.Done() }

func (c *Container) writable(w http.ResponseWriter, r *http.Request) bool {
	if c.sink == nil {
		writeError(w, r, http.StatusForbidden, "AuthorizationPermissionMismatch", "a restore's container is read-only")
		return false
	}
	return true
}

// store streams the body of r into a new part and returns its block.
// A nil Block with a nil error means the answer has been written.
func (c *Container) store(w http.ResponseWriter, r *http.Request, id string) (*Block, bool) {
	if r.ContentLength < 0 {
		writeError(w, r, http.StatusLengthRequired, "MissingContentLengthHeader", "Content-Length is required")
		return nil, false
	}
	if r.ContentLength > maxBlockSize {
		writeError(w, r, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "the block is larger than 4000 MiB")
		return nil, false
	}
	var wantMD5 []byte
	if v := r.Header.Get("Content-MD5"); v != "" {
		var err error
		if wantMD5, err = base64.StdEncoding.DecodeString(v); err != nil || len(wantMD5) != md5.Size {
			writeError(w, r, http.StatusBadRequest, "InvalidMd5", "Content-MD5 is not a base64 MD5 digest")
			return nil, false
		}
	}
	c.mu.Lock()
	c.seq++
	part := fmt.Sprintf("%s%06d", c.partPrefix, c.seq)
	c.mu.Unlock()
	pw, err := c.sink.CreatePart(c.ctx, engines.PartInfo{Name: part, Kind: engines.KindNative, Format: FormatBlock})
	if err != nil {
		c.fail(fmt.Errorf("storing a block of %s: %w", r.URL.Path, err))
		writeError(w, r, http.StatusInternalServerError, "InternalError", "the block could not be stored")
		return nil, false
	}
	var body io.Reader = r.Body
	var sum hash.Hash
	if wantMD5 != nil {
		sum = md5.New()
		body = io.TeeReader(body, sum)
	}
	n, copyErr := io.CopyN(pw, body, r.ContentLength)
	if closeErr := pw.Close(); closeErr != nil && copyErr == nil {
		c.fail(fmt.Errorf("storing a block of %s: %w", r.URL.Path, closeErr))
		writeError(w, r, http.StatusInternalServerError, "InternalError", "the block could not be stored")
		return nil, false
	}
	if copyErr != nil {
		// The client went away or the repository refused the bytes: the
		// part holds a partial block that no blob will name.
		if c.ctx.Err() == nil && !errors.Is(copyErr, io.EOF) && !errors.Is(copyErr, io.ErrUnexpectedEOF) {
			c.s.log.Debug("a block was not received", "container", c.name, "path", r.URL.Path, "received", n, "error", copyErr)
		}
		writeError(w, r, http.StatusBadRequest, "IncompleteBody", "the body ended before Content-Length bytes")
		return nil, false
	}
	if sum != nil && string(sum.Sum(nil)) != string(wantMD5) {
		writeError(w, r, http.StatusBadRequest, "Md5Mismatch", "the MD5 of the body does not match Content-MD5")
		return nil, false
	}
	return &Block{ID: id, Part: part, Size: n}, true
}

func (c *Container) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *Container) putBlock(w http.ResponseWriter, r *http.Request, blob string) {
	if !c.writable(w, r) {
		return
	}
	id := r.URL.Query().Get("blockid")
	if raw, err := base64.StdEncoding.DecodeString(id); err != nil || len(raw) == 0 || len(raw) > 64 {
		writeError(w, r, http.StatusBadRequest, "InvalidQueryParameterValue", "blockid must be base64 of 1 to 64 bytes")
		return
	}
	c.mu.Lock()
	full := len(c.staged[blob]) >= maxStaged
	c.mu.Unlock()
	if full {
		writeError(w, r, http.StatusConflict, "BlockCountExceedsLimit", "the blob has 100,000 uncommitted blocks")
		return
	}
	b, ok := c.store(w, r, id)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.staged[blob] == nil {
		c.staged[blob] = map[string]Block{}
	}
	c.staged[blob][id] = *b
	c.mu.Unlock()
	w.Header().Set("x-ms-request-server-encrypted", "false")
	w.WriteHeader(http.StatusCreated)
}

// putBlockList commits a blob from the block list in the body, whose
// entries name staged (Uncommitted), committed (Committed) or either,
// staged first (Latest) blocks, in the blob's order.
func (c *Container) putBlockList(w http.ResponseWriter, r *http.Request, blob string) {
	if !c.writable(w, r) {
		return
	}
	type entry struct{ kind, id string }
	var list []entry
	dec := xml.NewDecoder(io.LimitReader(r.Body, maxBlockListBody))
	var cur string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "InvalidXmlDocument", "the block list is not XML: "+err.Error())
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			cur = t.Name.Local
			if cur == "Committed" || cur == "Uncommitted" || cur == "Latest" {
				list = append(list, entry{kind: cur})
			}
		case xml.CharData:
			if (cur == "Committed" || cur == "Uncommitted" || cur == "Latest") && len(list) > 0 {
				list[len(list)-1].id += strings.TrimSpace(string(t))
			}
		case xml.EndElement:
			cur = ""
		}
	}
	if len(list) > MaxBlocks {
		writeError(w, r, http.StatusBadRequest, "BlockListTooLong", fmt.Sprintf("the block list has %d blocks, more than %d", len(list), MaxBlocks))
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	staged, committed := c.staged[blob], map[string]Block{}
	if old := c.blobs[blob]; old != nil {
		for _, b := range old.Blocks {
			committed[b.ID] = b
		}
	}
	nb := &Blob{Name: blob, Blocks: make([]Block, 0, len(list)), Modified: time.Now().UTC()}
	for i, e := range list {
		var b Block
		var ok bool
		switch e.kind {
		case "Uncommitted":
			b, ok = staged[e.id]
		case "Committed":
			b, ok = committed[e.id]
		default:
			if b, ok = staged[e.id]; !ok {
				b, ok = committed[e.id]
			}
		}
		if !ok {
			writeError(w, r, http.StatusBadRequest, "InvalidBlockList",
				fmt.Sprintf("The specified block list is invalid: entry %d (%s %q) names no block of blob %s", i+1, e.kind, e.id, blob))
			return
		}
		nb.Blocks = append(nb.Blocks, b)
		nb.Size += b.Size
	}
	nb.index()
	c.blobs[blob] = nb
	delete(c.staged, blob)
	w.Header().Set("ETag", nb.etag())
	w.Header().Set("Last-Modified", nb.Modified.Format(http.TimeFormat))
	w.Header().Set("x-ms-request-server-encrypted", "false")
	w.WriteHeader(http.StatusCreated)
}

func (c *Container) putBlob(w http.ResponseWriter, r *http.Request, blob string) {
	if !c.writable(w, r) {
		return
	}
	if t := r.Header.Get("x-ms-blob-type"); t != "BlockBlob" {
		writeError(w, r, http.StatusBadRequest, "InvalidHeaderValue", fmt.Sprintf("x-ms-blob-type %q: this listener stores block blobs only", t))
		return
	}
	nb := &Blob{Name: blob}
	if r.ContentLength != 0 {
		b, ok := c.store(w, r, "")
		if !ok {
			return
		}
		nb.Blocks, nb.Size = []Block{*b}, b.Size
		nb.index()
	}
	c.mu.Lock()
	nb.Modified = time.Now().UTC()
	c.blobs[blob] = nb
	delete(c.staged, blob)
	c.mu.Unlock()
	w.Header().Set("ETag", nb.etag())
	w.Header().Set("Last-Modified", nb.Modified.Format(http.TimeFormat))
	w.Header().Set("x-ms-request-server-encrypted", "false")
	w.WriteHeader(http.StatusCreated)
}

// lease answers the lease calls as if each succeeded: a container is used
// by one backup or restore, so there is nobody to exclude. SQL Server sends
// the actions capitalised ("Acquire"), Azure's SDKs in lower case; it may
// take a lease on a blob before writing it.
func (c *Container) lease(w http.ResponseWriter, r *http.Request, blob string) {
	switch strings.ToLower(r.Header.Get("x-ms-lease-action")) {
	case "acquire":
		id := r.Header.Get("x-ms-proposed-lease-id")
		if id == "" {
			id = requestID()
		}
		w.Header().Set("x-ms-lease-id", id)
		w.WriteHeader(http.StatusCreated)
	case "break":
		w.Header().Set("x-ms-lease-time", "0")
		w.WriteHeader(http.StatusAccepted)
	case "renew", "change", "release":
		if id := r.Header.Get("x-ms-lease-id"); id != "" {
			w.Header().Set("x-ms-lease-id", id)
		}
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, r, http.StatusBadRequest, "InvalidHeaderValue", "unknown x-ms-lease-action")
	}
}

// getBlockList lists a blob's committed and staged blocks
// (blocklisttype committed, uncommitted or all, the default committed).
func (c *Container) getBlockList(w http.ResponseWriter, r *http.Request, blob string) {
	which := strings.ToLower(r.URL.Query().Get("blocklisttype"))
	if which == "" {
		which = "committed"
	}
	if which != "committed" && which != "uncommitted" && which != "all" {
		writeError(w, r, http.StatusBadRequest, "InvalidQueryParameterValue", "blocklisttype is committed, uncommitted or all")
		return
	}
	c.mu.Lock()
	b, staged := c.blobs[blob], c.staged[blob]
	var body strings.Builder
	body.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	if which != "uncommitted" {
		body.WriteString("<CommittedBlocks>")
		if b != nil {
			for _, blk := range b.Blocks {
				fmt.Fprintf(&body, "<Block><Name>%s</Name><Size>%d</Size></Block>", xmlEscape(blk.ID), blk.Size)
			}
		}
		body.WriteString("</CommittedBlocks>")
	}
	if which != "committed" {
		ids := make([]string, 0, len(staged))
		for id := range staged {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		body.WriteString("<UncommittedBlocks>")
		for _, id := range ids {
			fmt.Fprintf(&body, "<Block><Name>%s</Name><Size>%d</Size></Block>", xmlEscape(id), staged[id].Size)
		}
		body.WriteString("</UncommittedBlocks>")
	}
	c.mu.Unlock()
	body.WriteString("</BlockList>")
	if b == nil && len(staged) == 0 {
		writeError(w, r, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
		return
	}
	if b != nil {
		w.Header().Set("ETag", b.etag())
		w.Header().Set("Last-Modified", b.Modified.Format(http.TimeFormat))
		w.Header().Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body.String())
}

func (c *Container) committed(blob string) *Blob {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blobs[blob]
}

func (c *Container) properties(w http.ResponseWriter, b *Blob) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", b.etag())
	h.Set("Last-Modified", b.Modified.Format(http.TimeFormat))
	h.Set("x-ms-creation-time", b.Modified.Format(http.TimeFormat))
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-server-encrypted", "false")
	h.Set("Accept-Ranges", "bytes")
}

func (c *Container) getProperties(w http.ResponseWriter, r *http.Request, blob string) {
	b := c.committed(blob)
	if b == nil {
		writeError(w, r, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
		return
	}
	c.properties(w, b)
	w.Header().Set("Content-Length", strconv.FormatInt(b.Size, 10))
	w.WriteHeader(http.StatusOK)
}

// parseRange reads "bytes=FIRST-[LAST]" (x-ms-range wins over Range).
// ok is false for a header that is not such a range.
func parseRange(r *http.Request) (first, last int64, set, ok bool) {
	v := r.Header.Get("x-ms-range")
	if v == "" {
		v = r.Header.Get("Range")
	}
	if v == "" {
		return 0, 0, false, true
	}
	spec, found := strings.CutPrefix(v, "bytes=")
	a, b, dash := strings.Cut(spec, "-")
	if !found || !dash {
		return 0, 0, true, false
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, true, false
	}
	last = -1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, 0, true, false
		}
	}
	return first, last, true, true
}

func (c *Container) getBlob(w http.ResponseWriter, r *http.Request, blob string) {
	if c.src == nil {
		writeError(w, r, http.StatusForbidden, "AuthorizationPermissionMismatch", "a backup's container is write-only")
		return
	}
	b := c.committed(blob)
	if b == nil {
		writeError(w, r, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
		return
	}
	first, last, ranged, ok := parseRange(r)
	if !ok {
		writeError(w, r, http.StatusBadRequest, "InvalidHeaderValue", "the range is not bytes=FIRST-LAST")
		return
	}
	if !ranged {
		first, last = 0, b.Size-1
	} else {
		if first >= b.Size {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", b.Size))
			writeError(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The range specified is invalid for the current size of the resource.")
			return
		}
		if last < 0 || last >= b.Size {
			last = b.Size - 1
		}
	}
	c.properties(w, b)
	n := last - first + 1
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	if ranged {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, b.Size))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	if err := c.copyRange(r.Context(), w, b, first, n); err != nil {
		// The status is sent: all that is left is to cut the body short,
		// which the client sees as a short read and retries.
		c.s.log.Warn("reading a blob from the repository failed", "container", c.name, "blob", blob, "error", err)
		panic(http.ErrAbortHandler)
	}
}

// copyRange writes n bytes of b from offset off, reading the parts of the
// blocks that hold them.
func (c *Container) copyRange(ctx context.Context, w io.Writer, b *Blob, off, n int64) error {
	i, start := b.blockAt(off) // start: offset of block i in the blob
	for ; i < len(b.Blocks) && n > 0; i++ {
		blk := b.Blocks[i]
		within := off - start
		take := min(n, blk.Size-within)
		if err := c.copyPart(ctx, w, blk, within, take); err != nil {
			return err
		}
		off, n, start = off+take, n-take, start+blk.Size
	}
	if n != 0 {
		return fmt.Errorf("blob %s ends before its recorded size", b.Name)
	}
	return nil
}

func (c *Container) copyPart(ctx context.Context, w io.Writer, blk Block, skip, n int64) error {
	part := blk.Part
	if blk.Size <= cacheBlockMax {
		b, err := c.cache.get(ctx, c.src, part)
		if err != nil {
			return err
		}
		if skip+n > int64(len(b)) {
			return fmt.Errorf("part %s holds %d bytes, fewer than its block's %d", part, len(b), blk.Size)
		}
		_, err = w.Write(b[skip : skip+n])
		return err
	}
	rc, err := c.src.Open(ctx, part)
	if err != nil {
		return err
	}
	defer rc.Close()
	// Parts are read from their start; a block is MAXTRANSFERSIZE (4 MiB)
	// for SQL Server, so a range in its middle costs at most that much
	// decoding.
	if _, err := io.CopyN(io.Discard, rc, skip); err != nil {
		return fmt.Errorf("part %s: %w", part, err)
	}
	if _, err := io.CopyN(w, rc, n); err != nil {
		return fmt.Errorf("part %s: %w", part, err)
	}
	return nil
}

func (c *Container) deleteBlob(w http.ResponseWriter, r *http.Request, blob string) {
	if !c.writable(w, r) {
		return
	}
	c.mu.Lock()
	_, ok := c.blobs[blob]
	delete(c.blobs, blob)
	delete(c.staged, blob)
	c.mu.Unlock()
	if !ok {
		writeError(w, r, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (c *Container) containerProperties(w http.ResponseWriter, r *http.Request, _ string) {
	w.Header().Set("x-ms-lease-state", "available")
	w.Header().Set("x-ms-lease-status", "unlocked")
	w.WriteHeader(http.StatusOK)
}

// listBlobs lists the committed blobs, by name, from after the marker.
func (c *Container) listBlobs(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	prefix, marker := q.Get("prefix"), q.Get("marker")
	max := 5000
	if v := q.Get("maxresults"); v != "" {
		if m, err := strconv.Atoi(v); err == nil && m > 0 && m < max {
			max = m
		}
	}
	c.mu.Lock()
	var names []string
	for name := range c.blobs {
		if strings.HasPrefix(name, prefix) && name > marker {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	next := ""
	if len(names) > max {
		names, next = names[:max], names[max-1]
	}
	var body strings.Builder
	fmt.Fprintf(&body, `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="%s/" ContainerName="%s">`, xmlEscape(c.s.url), c.name)
	fmt.Fprintf(&body, "<Prefix>%s</Prefix><Marker>%s</Marker><MaxResults>%d</MaxResults><Blobs>", xmlEscape(prefix), xmlEscape(marker), max)
	for _, name := range names {
		b := c.blobs[name]
		fmt.Fprintf(&body, "<Blob><Name>%s</Name><Properties><Creation-Time>%s</Creation-Time><Last-Modified>%s</Last-Modified><Etag>%s</Etag>"+
			"<Content-Length>%d</Content-Length><Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType>"+
			"<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>false</ServerEncrypted></Properties></Blob>",
			xmlEscape(name), b.Modified.Format(http.TimeFormat), b.Modified.Format(http.TimeFormat), xmlEscape(b.etag()), b.Size)
	}
	c.mu.Unlock()
	fmt.Fprintf(&body, "</Blobs><NextMarker>%s</NextMarker></EnumerationResults>", xmlEscape(next))
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body.String())
}

// Blocks up to cacheBlockMax bytes are read whole and kept, cacheBlocks of
// them per container (SQL Server's are 4 MiB: 64 MiB at most). Larger
// blocks are streamed, from their start, for each range.
const (
	cacheBlockMax = 16 << 20
	cacheBlocks   = 4
)

type blockCache struct {
	mu      sync.Mutex
	entries []cachedBlock // most recent last
}

type cachedBlock struct {
	part string
	data []byte
}

// get returns the bytes of part (at most cacheBlockMax), read whole and
// cached.
func (bc *blockCache) get(ctx context.Context, src engines.PartSource, part string) ([]byte, error) {
	bc.mu.Lock()
	for i, e := range bc.entries {
		if e.part == part {
			bc.entries = append(append(bc.entries[:i:i], bc.entries[i+1:]...), e)
			bc.mu.Unlock()
			return e.data, nil
		}
	}
	bc.mu.Unlock()
	rc, err := src.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, cacheBlockMax))
	if err != nil {
		return nil, fmt.Errorf("part %s: %w", part, err)
	}
	bc.mu.Lock()
	defer bc.mu.Unlock()
	bc.entries = append(bc.entries, cachedBlock{part: part, data: data})
	if len(bc.entries) > cacheBlocks {
		bc.entries = bc.entries[1:]
	}
	return data, nil
}
