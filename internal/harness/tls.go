package harness

import (
	"time"

	"github.com/dbopsd/dbopsd/internal/testca"
)

// writeTestCerts writes a throwaway CA (caFile) and a certificate it signed
// for 127.0.0.1, ::1 and localhost (certFile, keyFile), so a server can
// speak TLS that a client trusts only through caFile.
func writeTestCerts(caFile, certFile, keyFile string) error {
	ca, err := testca.New()
	if err != nil {
		return err
	}
	if err := ca.WriteFile(caFile); err != nil {
		return err
	}
	is, err := ca.Issue(time.Now().Add(24 * time.Hour))
	if err != nil {
		return err
	}
	return is.WriteFiles(certFile, keyFile)
}
