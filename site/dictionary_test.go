package site_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/site"
)

// TestDictionarySQLServer: SQL Server has a dictionary collector, so a
// SQL Server database that cannot be reached is a connection error, not
// ErrNotSupported (which the CLI and the daemon would report as "not
// supported"). The server is a closed port on loopback: tests never
// contact the policy's own addresses.
func TestDictionarySQLServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	src := strings.Replace(enginesPolicy, "sqlserver://dbops@10.1.1.13?database=hub",
		"sqlserver://dbops@127.0.0.1:"+strconv.Itoa(port)+"?database=hub&dial+timeout=2", 1)
	cfg, diags := config.Parse([]byte(src), "engines.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, err = site.Dictionary(context.Background(), cfg, cfg.Databases["hub"])
	if err == nil || errors.Is(err, dictionary.ErrNotSupported) || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("dictionary of an unreachable SQL Server database: %v, want a connection error naming port %d", err, port)
	}
}
