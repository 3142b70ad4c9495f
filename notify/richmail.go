package notify

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net"
	"strconv"
	"strings"

	"github.com/wneessen/go-mail"
)

// RichMessage is a mail with an HTML body, its plain-text alternative,
// images the HTML references as cid:<ContentID> (multipart/related), and
// attachments: what the monthly report and the weekly summary send.
type RichMessage struct {
	Subject     string
	Text        string
	HTML        string
	Inline      []Part
	Attachments []Part
	// Headers are added as they are (X-Dbopsd-Report: monthly).
	Headers map[string]string
}

// Part is one file of a RichMessage.
type Part struct {
	Name        string // may be any Unicode; see FileNameHeaders
	ContentType string // "image/png", "text/csv; charset=utf-8", ...
	ContentID   string // inline parts: the id the HTML's cid: names
	Data        []byte
}

// SendRich delivers m to the notify block's recipients over the same
// connection rules as Send.
func (e *Email) SendRich(ctx context.Context, m RichMessage) error {
	client, err := e.client()
	if err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(e.from); err != nil {
		return fmt.Errorf("notify %q: from: %w", e.name, err)
	}
	if err := msg.To(e.to...); err != nil {
		return fmt.Errorf("notify %q: to: %w", e.name, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	for k, v := range m.Headers {
		msg.SetGenHeader(mail.Header(k), v)
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	for _, p := range m.Inline {
		if err := msg.EmbedReader(p.Name, bytes.NewReader(p.Data), withPartHeaders(p, "inline")); err != nil {
			return fmt.Errorf("notify %q: embedding %s: %w", e.name, p.Name, err)
		}
	}
	for _, p := range m.Attachments {
		if err := msg.AttachReader(p.Name, bytes.NewReader(p.Data), withPartHeaders(p, "attachment")); err != nil {
			return fmt.Errorf("notify %q: attaching %s: %w", e.name, p.Name, err)
		}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("notify %q: sending mail through %s (%s): %w%s", e.name, net.JoinHostPort(e.host, strconv.Itoa(e.port)), e.mode(), err, e.hint(err))
	}
	return nil
}

// withPartHeaders sets the part's headers ourselves: go-mail would put an
// RFC 2047 encoded word inside a quoted filename, which RFC 2047 forbids
// and some clients show raw.
func withPartHeaders(p Part, disposition string) mail.FileOption {
	return func(f *mail.File) {
		ctype, disp := FileNameHeaders(p.ContentType, disposition, p.Name)
		f.Header.Set("Content-Type", ctype)
		f.Header.Set("Content-Disposition", disp)
		if p.ContentID != "" {
			f.Header.Set("Content-ID", "<"+p.ContentID+">")
		}
	}
}

// FileNameHeaders returns a part's Content-Type and Content-Disposition
// with name encoded for every client the bureau uses: RFC 2231
// (filename*=UTF-8”...) in the disposition, which Thunderbird, Apple Mail
// and Gmail read, and an RFC 2047 encoded word as the Content-Type's name,
// which Outlook and Foxmail read. A plain ASCII name is written as it is.
func FileNameHeaders(contentType, disposition, name string) (ctype, disp string) {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if isPlainToken(name) {
		return contentType + `; name="` + name + `"`, disposition + `; filename="` + name + `"`
	}
	// BEncoding leaves printable ASCII as it is: quote that.
	word := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(mime.BEncoding.Encode("UTF-8", name))
	return contentType + `; name="` + word + `"`, disposition + `; filename*=UTF-8''` + rfc2231Escape(name)
}

func isPlainToken(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e || strings.ContainsRune(`"\`, r) {
			return false
		}
	}
	return true
}

// rfc2231Escape percent-encodes everything but RFC 2231's attribute-chars.
func rfc2231Escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)+0x100, 16)[1:]))
	}
	return b.String()
}
