package fault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestIsTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unmarked", errors.New("disk quota exceeded"), false},
		{"marked transient", fmt.Errorf("put chunk: %w", Transient(errors.New("503 Service Unavailable"))), true},
		{"sentinel wrapped with %w", fmt.Errorf("put chunk: %w: 503", ErrTransient), true},
		{"marked permanent", fmt.Errorf("backup of queue: %w", Permanent(errors.New("password authentication failed"))), false},
		{"refused connection", fmt.Errorf("backup of queue: %w", refused), true},
		{"reset", fmt.Errorf("reading: %w", syscall.ECONNRESET), true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"i/o deadline", fmt.Errorf("read: %w", os.ErrDeadlineExceeded), true},
		{"net timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, true},
		{"net error, no timeout", &net.DNSError{Err: "no such host", IsNotFound: true}, false},
		{"cancelled", fmt.Errorf("backup: %w", context.Canceled), false},
		{"cancelled though marked transient", Transient(context.Canceled), false},
		// Permanent wins over a transient mark and a transient cause.
		{"permanent over transient mark", Permanent(Transient(errors.New("x"))), false},
		{"transient over permanent mark", Transient(Permanent(errors.New("x"))), false},
		{"permanent over refused", Permanent(fmt.Errorf("connection refused by pg_hba.conf: %w", refused)), false},
		{"joined", errors.Join(errors.New("a"), Transient(errors.New("b"))), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// The markers change nothing a caller sees but the class.
func TestMarkersKeepTheError(t *testing.T) {
	cause := errors.New("password authentication failed for user \"dbops\"")
	for _, mark := range []func(error) error{Transient, Permanent, NoSpace} {
		err := mark(cause)
		if err.Error() != cause.Error() || !errors.Is(err, cause) || errors.Unwrap(err) != cause {
			t.Errorf("marked %v: message %q, Is(cause) %v", cause, err, errors.Is(err, cause))
		}
		if mark(nil) != nil {
			t.Error("marking nil is not nil")
		}
	}
	if !errors.Is(Permanent(cause), ErrPermanent) || errors.Is(Permanent(cause), ErrTransient) ||
		!errors.Is(Transient(cause), ErrTransient) || errors.Is(Transient(cause), ErrPermanent) {
		t.Error("a marker matches the wrong class")
	}
	// A marked sentinel stays a sentinel: errors.Is finds it by identity.
	sentinel := Permanent(errors.New("wrong passphrase"))
	if !errors.Is(fmt.Errorf("opening: %w", sentinel), sentinel) {
		t.Error("errors.Is does not find a marked sentinel")
	}
}

func TestIsNoSpace(t *testing.T) {
	full := &os.PathError{Op: "write", Path: "/var/lib/scratch/f", Err: syscall.ENOSPC}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unmarked text", errors.New("No space left on device"), false},
		{"marked", fmt.Errorf("restoring: %w", NoSpace(errors.New("disk full"))), true},
		{"marked and permanent", Permanent(NoSpace(errors.New("disk full"))), true},
		{"ENOSPC", fmt.Errorf("writing: %w", full), true},
		{"EDQUOT", fmt.Errorf("writing: %w", syscall.EDQUOT), true},
		{"joined", errors.Join(errors.New("a"), NoSpace(errors.New("b"))), true},
		{"transient", Transient(errors.New("503")), false},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNoSpace(tt.err); got != tt.want {
				t.Errorf("IsNoSpace(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	// The cause is no retry class: it leaves IsTransient as it was.
	if IsTransient(NoSpace(errors.New("disk full"))) || !IsTransient(NoSpace(Transient(errors.New("x")))) ||
		errors.Is(NoSpace(errors.New("x")), ErrPermanent) || errors.Is(NoSpace(errors.New("x")), ErrTransient) {
		t.Error("NoSpace changes the retry class")
	}
}
