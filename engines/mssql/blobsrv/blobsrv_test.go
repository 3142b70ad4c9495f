package blobsrv_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mssql/blobsrv"
	"github.com/dbopsd/dbopsd/internal/testca"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

const account = "dbopsd"

// rig is a repository on local storage and a listener over real TLS, with
// an HTTP client that trusts it (and only it) as the azblob client's
// transport.
type rig struct {
	repo   *repository.Repo
	srv    *blobsrv.Server
	key    []byte
	client *http.Client
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	ctx := context.Background()
	st, err := local.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("blob listener test"))
	if err != nil {
		tb.Fatal(err)
	}
	ca, err := testca.New()
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := ca.Issue(time.Now().Add(24 * time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	key := []byte("0123456789abcdef0123456789abcdef")
	srv := blobsrv.New(blobsrv.Options{URL: ts.URL, Account: account, Key: key})
	ts.Config.Handler = srv
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, MaxIdleConnsPerHost: 16}}
	return &rig{repo: repo, srv: srv, key: key, client: client}
}

func (g *rig) options() azcore.ClientOptions {
	// No retries: a refused request must surface, not be tried again.
	return azcore.ClientOptions{Transport: g.client, Retry: policy.RetryOptions{MaxRetries: -1}}
}

func (g *rig) blockClient(tb testing.TB, c *blobsrv.Container, blobName, sasQuery string) *blockblob.Client {
	tb.Helper()
	bc, err := blockblob.NewClientWithNoCredential(c.BlobURL(blobName)+"?"+sasQuery, &blockblob.ClientOptions{ClientOptions: g.options()})
	if err != nil {
		tb.Fatal(err)
	}
	return bc
}

func (g *rig) containerClient(tb testing.TB, c *blobsrv.Container, sasQuery string) *container.Client {
	tb.Helper()
	cc, err := container.NewClientWithNoCredential(c.URL()+"?"+sasQuery, &container.ClientOptions{ClientOptions: g.options()})
	if err != nil {
		tb.Fatal(err)
	}
	return cc
}

// azureSAS signs a container SAS with Microsoft's own code, so that the
// listener is seen to verify Azure's signature, not only its own.
func (g *rig) azureSAS(tb testing.TB, key []byte, containerName, perms string, expiry time.Time) string {
	tb.Helper()
	cred, err := azblob.NewSharedKeyCredential(account, base64.StdEncoding.EncodeToString(key))
	if err != nil {
		tb.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, ExpiryTime: expiry, Permissions: perms, ContainerName: containerName}.SignWithSharedKey(cred)
	if err != nil {
		tb.Fatal(err)
	}
	return q.Encode()
}

// blockID is how SQL Server names blocks: fixed-length, base64.
func blockID(i int) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return base64.StdEncoding.EncodeToString(b[:])
}

// stripeData is a stripe's bytes: pseudo-random with repeats, like a
// backup of pages, so that compression and deduplication both have work.
func stripeData(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]byte, 0, size)
	page := make([]byte, 8192)
	for len(out) < size {
		for i := range page {
			page[i] = byte(r.IntN(16))
		}
		out = append(out, page...)
	}
	return out[:size]
}

// uploadStripe replays what SQL Server sends for one stripe: blocks of
// blockSize (the last one short), several in flight, then the block list.
func uploadStripe(ctx context.Context, bc *blockblob.Client, data []byte, blockSize, parallel int) error {
	var ids []string
	for off, i := 0, 0; off < len(data); off, i = off+blockSize, i+1 {
		ids = append(ids, blockID(i))
	}
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			off := i * blockSize
			b := data[off:min(off+blockSize, len(data))]
			_, err := bc.StageBlock(ctx, ids[i], streaming.NopCloser(bytes.NewReader(b)), nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	_, err := bc.CommitBlockList(ctx, ids, nil)
	return err
}

// backup stores stripes through a Receive container into a new backup, the
// blob index as its meta part, and returns the manifest.
func (g *rig) backup(tb testing.TB, stripes map[string][]byte, blockSize int) *repository.Manifest {
	tb.Helper()
	ctx := context.Background()
	w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		tb.Fatal(err)
	}
	c := g.srv.Receive(ctx, w, "blocks/", time.Now().Add(time.Hour))
	var wg sync.WaitGroup
	errs := make(chan error, len(stripes))
	for name, data := range stripes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- uploadStripe(ctx, g.blockClient(tb, c, name, c.SAS()), data, blockSize, 4)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	blobs, err := c.Close()
	if err != nil {
		tb.Fatal(err)
	}
	pw, err := w.CreatePart(ctx, engines.PartInfo{Name: "blobs.json", Kind: engines.KindMeta})
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.NewEncoder(pw).Encode(blobs); err != nil {
		tb.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		tb.Fatal(err)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: "mssql"})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// send opens a Send container on the blobs a backup stored.
func (g *rig) send(tb testing.TB, ctx context.Context, m *repository.Manifest) *blobsrv.Container {
	tb.Helper()
	src := g.repo.Source(m)
	rc, err := src.Open(ctx, "blobs.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	var blobs []blobsrv.Blob
	if err := json.NewDecoder(rc).Decode(&blobs); err != nil {
		tb.Fatal(err)
	}
	return g.srv.Send(ctx, src, blobs, time.Now().Add(time.Hour))
}

func download(ctx context.Context, bc *blockblob.Client, off, count int64) ([]byte, error) {
	resp, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: count}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// TestStripedRoundTrip: a backup striped over three URLs, blocks arriving
// out of order and in parallel, comes back byte for byte through the
// repository, whole and in ranges that start, end and cross blocks.
func TestStripedRoundTrip(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	const blockSize = 256 << 10 // SQL Server's 4 MiB MAXTRANSFERSIZE, scaled down
	stripes := map[string][]byte{
		"sales_1.bak": stripeData(1, 9*blockSize+12345),
		"sales_2.bak": stripeData(2, 9*blockSize),
		"sales_3.bak": stripeData(3, 100), // a stripe with one short block
	}
	m := g.backup(t, stripes, blockSize)

	c := g.send(t, ctx, m)
	defer c.Close()
	var names []string
	pager := g.containerClient(t, c, c.SAS()).NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
			if want := int64(len(stripes[*b.Name])); *b.Properties.ContentLength != want {
				t.Errorf("listed %s with %d bytes, want %d", *b.Name, *b.Properties.ContentLength, want)
			}
		}
	}
	if strings.Join(names, ",") != "sales_1.bak,sales_2.bak,sales_3.bak" {
		t.Errorf("listed %q", names)
	}

	for name, data := range stripes {
		bc := g.blockClient(t, c, name, c.SAS())
		props, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *props.ContentLength != int64(len(data)) || *props.BlobType != blob.BlobTypeBlockBlob {
			t.Errorf("%s: properties %d bytes, type %s", name, *props.ContentLength, *props.BlobType)
		}
		got, err := download(ctx, bc, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes back, differing from the %d sent", name, len(got), len(data))
		}
		n := int64(len(data))
		for _, r := range [][2]int64{{0, 1}, {n - 1, 1}, {blockSize - 10, 20}, {blockSize, blockSize}, {3*blockSize + 7, 3 * blockSize}, {n / 2, 0}} {
			if r[0] >= n {
				continue
			}
			got, err := download(ctx, bc, r[0], r[1])
			if err != nil {
				t.Fatalf("%s: range %v: %v", name, r, err)
			}
			end := n
			if r[1] > 0 {
				end = min(n, r[0]+r[1])
			}
			if !bytes.Equal(got, data[r[0]:end]) {
				t.Errorf("%s: range %v: %d bytes, not those stored", name, r, len(got))
			}
		}
		if _, err := download(ctx, bc, n+1, 10); !bloberror.HasCode(err, bloberror.InvalidRange) {
			t.Errorf("%s: a range past the end: %v", name, err)
		}
	}
	// A restore's container is read-only whatever its SAS says.
	bc := g.blockClient(t, c, "sales_1.bak", g.azureSAS(t, g.key, c.Name(), "rwdl", time.Now().Add(time.Hour)))
	if _, err := bc.Delete(ctx, nil); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Errorf("deleting from a restore's container: %v", err)
	}
}

// TestBlockListNamingAMissingBlock: a block list naming a block that was
// never received is refused, and commits nothing; the blob then commits
// with the blocks it has.
func TestBlockListNamingAMissingBlock(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(errors.New("test over"))
	c := g.srv.Receive(ctx, w, "blocks/", time.Now().Add(time.Hour))
	bc := g.blockClient(t, c, "sales.bak", c.SAS())
	for i := range 2 {
		if _, err := bc.StageBlock(ctx, blockID(i), streaming.NopCloser(bytes.NewReader([]byte("block"))), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = bc.CommitBlockList(ctx, []string{blockID(0), blockID(1), blockID(2)}, nil)
	if !bloberror.HasCode(err, bloberror.InvalidBlockList) {
		t.Fatalf("committing a list naming a missing block: %v", err)
	}
	if names := listNames(t, g, c, c.SAS()); len(names) != 0 {
		t.Errorf("listed after a refused block list: %q", names)
	}
	bl, err := bc.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil || len(bl.CommittedBlocks) != 0 || len(bl.UncommittedBlocks) != 2 || *bl.UncommittedBlocks[0].Name != blockID(0) || *bl.UncommittedBlocks[1].Size != 5 {
		t.Errorf("block list before the commit: %+v, %v", bl.BlockList, err)
	}
	if _, err := bc.CommitBlockList(ctx, []string{blockID(1), blockID(0)}, nil); err != nil {
		t.Fatal(err)
	}
	bl, err = bc.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil || len(bl.CommittedBlocks) != 2 || len(bl.UncommittedBlocks) != 0 || *bl.CommittedBlocks[0].Name != blockID(1) {
		t.Errorf("block list after the commit: %+v, %v", bl.BlockList, err)
	}
	blobs, err := c.Close()
	if err != nil || len(blobs) != 1 || blobs[0].Size != 10 || blobs[0].Blocks[0].ID != blockID(1) {
		t.Errorf("committed %+v, %v", blobs, err)
	}
}

func listNames(tb testing.TB, g *rig, c *blobsrv.Container, sasQuery string) []string {
	tb.Helper()
	var names []string
	pager := g.containerClient(tb, c, sasQuery).NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	return names
}

// TestSASRefused: each request needs a signature made with the listener's
// key, for its container, valid now and granting the operation; Azure's
// own signing code makes the valid one.
func TestSASRefused(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(errors.New("test over"))
	c := g.srv.Receive(ctx, w, "blocks/", time.Now().Add(time.Hour))
	other := g.srv.Receive(ctx, w, "other/", time.Now().Add(time.Hour))
	defer other.Close()
	hour := time.Now().Add(time.Hour)
	valid := g.azureSAS(t, g.key, c.Name(), "cw", hour)
	for _, tc := range []struct {
		name, sas, code string
	}{
		{"no signature", "", "AuthenticationFailed"},
		{"another key", g.azureSAS(t, []byte("not the listener's key, 32 bytes"), c.Name(), "cw", hour), "AuthenticationFailed"},
		{"expired", g.azureSAS(t, g.key, c.Name(), "cw", time.Now().Add(-time.Minute)), "AuthenticationFailed"},
		{"another container", other.SAS(), "AuthenticationFailed"},
		{"permissions widened", strings.Replace(g.azureSAS(t, g.key, c.Name(), "r", hour), "sp=r", "sp=rw", 1), "AuthenticationFailed"},
		{"expiry extended", strings.Replace(valid, "se="+hour.UTC().Format("2006-01-02"), "se="+hour.Add(48*time.Hour).UTC().Format("2006-01-02"), 1), "AuthenticationFailed"},
		{"read only", g.azureSAS(t, g.key, c.Name(), "rl", hour), "AuthorizationPermissionMismatch"},
		{"valid", valid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc := g.blockClient(t, c, "sales.bak", tc.sas)
			_, err := bc.StageBlock(ctx, blockID(0), streaming.NopCloser(bytes.NewReader([]byte("block"))), nil)
			if err == nil {
				_, err = bc.CommitBlockList(ctx, []string{blockID(0)}, nil)
			}
			switch {
			case tc.code == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.code != "" && !bloberror.HasCode(err, bloberror.Code(tc.code)):
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
	// Listing needs 'l', which a backup's own SAS grants.
	if _, err := g.containerClient(t, c, valid).NewListBlobsFlatPager(nil).NextPage(ctx); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Errorf("listing with a SAS without 'l': %v", err)
	}
	if names := listNames(t, g, c, c.SAS()); strings.Join(names, ",") != "sales.bak" {
		t.Errorf("listed %q: only the valid request's blob should be there", names)
	}
}

// TestCrashMidUpload: a backup that dies while blocks are arriving, one of
// them cut off mid-body, leaves nothing listed: not in the container while
// it lived, not in the repository after.
func TestCrashMidUpload(t *testing.T) {
	g := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	c := g.srv.Receive(ctx, w, "blocks/", time.Now().Add(time.Hour))
	bc := g.blockClient(t, c, "sales.bak", c.SAS())
	for i := range 3 {
		if _, err := bc.StageBlock(ctx, blockID(i), streaming.NopCloser(bytes.NewReader(stripeData(uint64(i), 64<<10))), nil); err != nil {
			t.Fatal(err)
		}
	}
	// A block whose body stops half way: the client process died.
	u := c.BlobURL("sales.bak") + "?comp=block&blockid=" + strings.ReplaceAll(blockID(3), "=", "%3D") + "&" + c.SAS()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u, pr)
	req.ContentLength = 1 << 20
	done := make(chan error, 1)
	go func() {
		resp, err := g.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	pw.Write(make([]byte, 100<<10))
	pw.CloseWithError(errors.New("client crashed"))
	<-done
	if names := listNames(t, g, c, c.SAS()); len(names) != 0 {
		t.Errorf("listed before the block list: %q", names)
	}

	cancel() // the backup job ends
	blobs, _ := c.Close()
	w.Abort(errors.New("SQL Server's BACKUP failed"))
	if len(blobs) != 0 {
		t.Errorf("committed: %+v", blobs)
	}
	refs, err := g.repo.ListManifests(context.Background(), "sales")
	if err != nil || len(refs) != 0 {
		t.Errorf("repository lists %v, %v", refs, err)
	}
	// The container is gone: later requests find nothing.
	if _, err := bc.CommitBlockList(context.Background(), []string{blockID(0)}, nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Errorf("after the backup ended: %v", err)
	}
}

// TestPlainHTTPRefused: the listener's own SAS is valid over HTTPS only.
func TestPlainHTTPRefused(t *testing.T) {
	srv := blobsrv.New(blobsrv.Options{URL: "http://placeholder"})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	g := newRig(t)
	w, err := g.repo.NewBackup(context.Background(), repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(errors.New("test over"))
	c := srv.Receive(context.Background(), w, "blocks/", time.Now().Add(time.Hour))
	defer c.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	u := strings.Replace(c.BlobURL("x.bak"), "placeholder", host, 1) + "?comp=block&blockid=" + strings.ReplaceAll(blockID(0), "=", "%3D") + "&" + c.SAS()
	req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader("block"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-ms-error-code") != "AuthenticationFailed" {
		t.Errorf("over plain HTTP: %s %s", resp.Status, resp.Header.Get("x-ms-error-code"))
	}
}

// TestLeaseAsSQLServerSendsIt: SQL Server takes a lease on a blob before
// writing it, with the action capitalised; the listener grants it with the
// proposed id, and renews and releases it.
func TestLeaseAsSQLServerSendsIt(t *testing.T) {
	g := newRig(t)
	w, err := g.repo.NewBackup(context.Background(), repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(errors.New("test over"))
	c := g.srv.Receive(context.Background(), w, "blocks/", time.Now().Add(time.Hour))
	defer c.Close()
	const id = "0f6a4b53-1b5e-4a55-8c61-3a1b2c3d4e5f"
	for _, tc := range []struct {
		action string
		status int
	}{{"Acquire", http.StatusCreated}, {"Renew", http.StatusOK}, {"Release", http.StatusOK}, {"Steal", http.StatusBadRequest}} {
		req, _ := http.NewRequest(http.MethodPut, c.BlobURL("sales.bak")+"?comp=lease&"+c.SAS(), nil)
		req.Header.Set("x-ms-lease-action", tc.action)
		req.Header.Set("x-ms-lease-duration", "-1")
		req.Header.Set("x-ms-proposed-lease-id", id)
		req.Header.Set("x-ms-lease-id", id)
		resp, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.action == "Acquire" && resp.Header.Get("x-ms-lease-id") != id) {
			t.Errorf("%s: %s, lease id %q", tc.action, resp.Status, resp.Header.Get("x-ms-lease-id"))
		}
	}
}

// countingSource counts the parts opened.
type countingSource struct {
	engines.PartSource
	mu    sync.Mutex
	opens int
}

func (s *countingSource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	s.mu.Lock()
	s.opens++
	s.mu.Unlock()
	return s.PartSource.Open(ctx, name)
}

// TestSmallRangesDecodeABlockOnce: RESTORE reads a block in several
// ranges; the block is read from the repository once, not once a range.
func TestSmallRangesDecodeABlockOnce(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	const blockSize = 1 << 20
	data := stripeData(9, 2*blockSize)
	m := g.backup(t, map[string][]byte{"sales.bak": data}, blockSize)
	src := &countingSource{PartSource: g.repo.Source(m)}
	rc, err := src.Open(ctx, "blobs.json")
	if err != nil {
		t.Fatal(err)
	}
	var blobs []blobsrv.Blob
	err = json.NewDecoder(rc).Decode(&blobs)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	src.opens = 0
	c := g.srv.Send(ctx, src, blobs, time.Now().Add(time.Hour))
	defer c.Close()
	bc := g.blockClient(t, c, "sales.bak", c.SAS())
	var got []byte
	for off := int64(0); off < int64(len(data)); off += 64 << 10 {
		b, err := download(ctx, bc, off, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the ranges put together differ from the stripe")
	}
	if src.opens != 2 {
		t.Errorf("%d parts opened for 32 ranges over 2 blocks, want 2", src.opens)
	}
}

// TestPutBlobAndDelete: a blob sent in one request (Put Blob, what the SDK
// does for small uploads) and an empty one are stored and listed; a
// deleted blob is listed no more and is not in the container's index.
func TestPutBlobAndDelete(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(errors.New("test over"))
	c := g.srv.Receive(ctx, w, "blocks/", time.Now().Add(time.Hour))
	small := stripeData(4, 1000)
	if _, err := g.blockClient(t, c, "small.bak", c.SAS()).UploadBuffer(ctx, small, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.blockClient(t, c, "empty.bak", c.SAS()).UploadBuffer(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.blockClient(t, c, "gone.bak", c.SAS()).UploadBuffer(ctx, small, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.blockClient(t, c, "gone.bak", c.SAS()).Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.blockClient(t, c, "never.bak", c.SAS()).Delete(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Errorf("deleting a blob that is not there: %v", err)
	}
	if names := listNames(t, g, c, c.SAS()); strings.Join(names, ",") != "empty.bak,small.bak" {
		t.Errorf("listed %q", names)
	}
	blobs, err := c.Close()
	if err != nil || len(blobs) != 2 || blobs[0].Size != 0 || len(blobs[0].Blocks) != 0 || blobs[1].Size != 1000 || len(blobs[1].Blocks) != 1 {
		t.Errorf("index %+v, %v", blobs, err)
	}
}

// TestManyBlocks: SQL Server's 50,000-block stripes, scaled down: a
// thousand small blocks commit and come back in order; a block list one
// over Azure's limit is refused.
func TestManyBlocks(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	data := stripeData(11, 1000*64)
	m := g.backup(t, map[string][]byte{"many.bak": data}, 64)
	c := g.send(t, ctx, m)
	defer c.Close()
	got, err := download(ctx, g.blockClient(t, c, "many.bak", c.SAS()), 0, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("a thousand blocks back: %d bytes, %v", len(got), err)
	}

	w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: "mssql", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(errors.New("test over"))
	rc := g.srv.Receive(ctx, w, "blocks/", time.Now().Add(time.Hour))
	defer rc.Close()
	ids := make([]string, blobsrv.MaxBlocks+1)
	for i := range ids {
		ids[i] = blockID(i)
	}
	if _, err := g.blockClient(t, rc, "big.bak", rc.SAS()).CommitBlockList(ctx, ids, nil); !bloberror.HasCode(err, bloberror.BlockListTooLong) {
		t.Errorf("a list of %d blocks: %v", len(ids), err)
	}
}
