package mssql

import (
	"context"
	"crypto/tls"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mssqldb "github.com/microsoft/go-mssqldb"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/internal/testca"
)

// TestPlan: every file of a backup moves into the target's default paths,
// named after the new database, on Windows and Linux servers alike.
func TestPlan(t *testing.T) {
	files := []backupFile{{"sales", `D:\old\sales.mdf`, "D"}, {"sales_2", `D:\old\sales_2.ndf`, "D"}, {"sales_log", `L:\old\sales.ldf`, "L"}, {"fs", `D:\old\fs`, "S"}}
	moves, err := plan(files, "销售/copy", server{defaultData: `E:\data\`, defaultLog: `F:\log`})
	if err != nil {
		t.Fatal(err)
	}
	want := []move{{"sales", `E:\data\销售_copy_1.mdf`}, {"sales_2", `E:\data\销售_copy_2.ndf`}, {"sales_log", `F:\log\销售_copy_3.ldf`}, {"fs", `E:\data\销售_copy_4`}}
	for i := range want {
		if moves[i] != want[i] {
			t.Errorf("move %d: %+v, want %+v", i, moves[i], want[i])
		}
	}
	moves, _ = plan(files[:1], "sales", server{defaultData: "/var/opt/mssql/data/", defaultLog: "/var/opt/mssql/log/"})
	if moves[0].Physical != "/var/opt/mssql/data/sales_1.mdf" {
		t.Errorf("linux: %+v", moves)
	}
	if _, err := plan(files, "x", server{}); err == nil {
		t.Error("a server without default paths: no error")
	}
	if got := sparseFile(`D:\data\sales.mdf`, "snap"); got != `D:\data\snap_sales.ss` {
		t.Errorf("sparseFile: %s", got)
	}
	if got := sparseFile("/var/opt/mssql/data/sales.mdf", "snap"); got != "/var/opt/mssql/data/snap_sales.ss" {
		t.Errorf("sparseFile: %s", got)
	}
}

// TestListenerStartsOnDemand: the listener is not running until a job asks
// for it, then serves HTTPS on mssql_listen with tls_cert; new settings
// stop it and the next job starts it on the new address.
func TestListenerStartsOnDemand(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := cert.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	t.Cleanup(func() { Configure(ListenerConfig{}, nil) })

	for _, addr := range []string{freePort(t), freePort(t)} {
		Configure(ListenerConfig{Listen: addr, URL: "https://" + addr, CertFile: certFile, KeyFile: keyFile}, nil)
		if _, err := client.Get("https://" + addr + "/"); err == nil {
			t.Fatalf("%s answers before a job needs it", addr)
		}
		srv, err := blobServer()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := blobServer()
		if again != srv || srv.URL() != "https://"+addr {
			t.Errorf("a second job got another listener, or %s", srv.URL())
		}
		c := srv.Receive(context.Background(), nil, "blocks/", time.Now().Add(time.Minute))
		resp, err := client.Get(c.URL() + "?restype=container&comp=list&" + c.SAS())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("listing over %s: %s", addr, resp.Status)
		}
	}
	Configure(ListenerConfig{Listen: "256.0.0.1:1", URL: "https://x:1", CertFile: certFile, KeyFile: keyFile}, nil)
	if _, err := blobServer(); err == nil || !strings.Contains(err.Error(), "mssql_listen") {
		t.Errorf("an address that cannot be listened on: %v", err)
	}
}

// TestDifferentialNeedsItsFull: a differential restore without the full's
// parts is refused before anything is sent to a server.
func TestDifferentialNeedsItsFull(t *testing.T) {
	_, err := (&Engine{}).Restore(context.Background(), engines.Conn{DSN: "sqlserver://dbops@127.0.0.1:1"},
		engines.RestoreRequest{Database: "x", Snapshot: &engines.Snapshot{Meta: map[string]string{MetaBackupType: "I"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "restored on its full backup") || !errors.Is(err, fault.ErrPermanent) {
		t.Errorf("a differential without its full: %v", err)
	}
}

// TestRestorable: a backup of a newer SQL Server is refused before the
// restore starts; an older or the same version, or one not recorded, goes.
func TestRestorable(t *testing.T) {
	for _, tc := range []struct {
		backup, target string
		ok             bool
	}{{"16.0.4135.4", "15.0.4375.4", false}, {"15.0.4375.4", "16.0.4135.4", true}, {"16.0.1000.6", "16.0.4135.4", true}, {"", "16.0.1", true}} {
		err := restorable(tc.backup, tc.target)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, fault.ErrPermanent)) {
			t.Errorf("%s onto %s: %v", tc.backup, tc.target, err)
		}
	}
}

// TestListenerServesRenewedCertificate: a certificate replaced at the same
// paths is served from the next handshake on, without a restart.
func TestListenerServesRenewedCertificate(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, err := ca.Issue(time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	Configure(ListenerConfig{Listen: addr, URL: "https://" + addr, CertFile: certFile, KeyFile: keyFile}, nil)
	t.Cleanup(func() { Configure(ListenerConfig{}, nil) })
	if _, err := blobServer(); err != nil {
		t.Fatal(err)
	}
	served := func() *big.Int {
		t.Helper()
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber
	}
	if got := served(); got.Cmp(first.Cert.SerialNumber) != 0 {
		t.Fatalf("served serial %v, want %v", got, first.Cert.SerialNumber)
	}
	renewed, err := ca.Issue(time.Now().Add(48 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := renewed.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(certFile, later, later)
	os.Chtimes(keyFile, later, later)
	if got := served(); got.Cmp(renewed.Cert.SerialNumber) != 0 {
		t.Errorf("after renewal: serial %v, want the renewed %v", got, renewed.Cert.SerialNumber)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestClassify: SQL Server's error numbers decide retries, including when
// the deciding error is one of several (BACKUP reports its cause first and
// "BACKUP DATABASE is terminating abnormally" last).
func TestClassify(t *testing.T) {
	terminating := mssqldb.Error{Number: 3013, Message: "BACKUP DATABASE is terminating abnormally."}
	for _, tc := range []struct {
		err                  error
		permanent, transient bool
	}{
		{mssqldb.Error{Number: errLoginFailed}, true, false},
		{fmt.Errorf("backing up: %w", mssqldb.Error{Number: 3013, All: []mssqldb.Error{{Number: errNoDatabase}, terminating}}), true, false},
		{mssqldb.Error{Number: errDeadlock}, false, true},
		{mssqldb.Error{Number: 3013, All: []mssqldb.Error{{Number: errBackupDeviceError}, terminating}}, false, false},
		{driver.ErrBadConn, false, true},
		{errors.New("something else"), false, false},
	} {
		got := classify(tc.err)
		if errors.Is(got, fault.ErrPermanent) != tc.permanent || fault.IsTransient(got) != tc.transient || got.Error() != tc.err.Error() {
			t.Errorf("%v: permanent %v, transient %v", tc.err, errors.Is(got, fault.ErrPermanent), fault.IsTransient(got))
		}
	}
}
