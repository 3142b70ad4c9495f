package notify

import (
	"testing"

	"github.com/dbopsd/dbopsd/config"
)

// TestEmailTLSMode: without smtp_tls, port 465 means implicit TLS and any
// other STARTTLS; smtp_tls says otherwise for servers on other ports.
func TestEmailTLSMode(t *testing.T) {
	for _, tc := range []struct {
		smtp, mode string
		implicit   bool
	}{
		{"smtp.example.gov.cn:465", "", true},
		{"smtp.example.gov.cn:587", "", false},
		{"smtp.example.gov.cn:25", "", false},
		{"smtp.example.gov.cn:2465", config.SMTPImplicitTLS, true},
		{"smtp.example.gov.cn:465", config.SMTPStartTLS, false},
	} {
		e, err := NewEmail(&config.Notify{Name: "bureau", Type: "email", SMTP: tc.smtp, SMTPTLS: tc.mode}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.implicit != tc.implicit {
			t.Errorf("smtp %s, smtp_tls %q: implicit TLS %v, want %v", tc.smtp, tc.mode, e.implicit, tc.implicit)
		}
	}
}
