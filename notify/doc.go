// Package notify sends the daemon's alerts (日志报警自动化) to the notify
// blocks of the policy: email through SMTP (go-mail) and webhooks (a JSON
// POST signed with HMAC-SHA256).
//
// # Email and TLS
//
// An email block's connection is encrypted as smtp_tls says: "implicit"
// (TLS from the first byte, SMTPS) or "starttls"; without it, implicit on
// port 465 and STARTTLS on any other. STARTTLS is required when a username
// is set (credentials never travel in clear) and used when offered
// otherwise. The server's certificate is checked against the system's CAs
// and those of the block's ca_file (an internal CA) before the credentials
// or the message go out; an error names the block and the server, says
// what to change when the certificate is the problem, and never holds the
// password.
//
// A webhook block's ca_file does the same for an https:// url: the
// receiver's certificate must be signed by a system CA or one of the file;
// a refusal names the block and the URL (without its query), never the
// secret. Both kinds read ca_file when their sender is made (tls.go): at
// start, and on a reload that changes the file's name or content.
//
// # Problems, not messages
//
// A failure is a problem with a key: its event and database
// ("backup_failed" of "queue"). Raise sends the first message of a problem
// and stays quiet while the same problem persists; a different error under
// the same key is a change and is sent again. Clear ends a problem with a
// "resolved" message. Notices (the daemon started after a gap) are one-off
// messages. The open problems are kept in a file in the state directory, so
// a restart neither repeats nor forgets them.
//
// # Rate limit
//
// Each destination gets at most Burst messages at once and one more per
// RefillEvery after that; what the limit holds back is counted and said in
// the next message that goes out. Each destination has its own queue, so a
// slow mail server does not hold back the webhook.
//
// # Webhook signature
//
// The POST carries X-Dbopsd-Event, X-Dbopsd-Timestamp (Unix seconds) and
// X-Dbopsd-Signature: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." +
// body)). A receiver recomputes it with the shared secret, compares in
// constant time, and refuses timestamps older than a few minutes.
package notify
