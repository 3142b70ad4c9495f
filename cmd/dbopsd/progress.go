package main

import (
	"fmt"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress shows how long CLI work is going: a line rewritten in place on a
// terminal, a plain line every few seconds otherwise (logs, cron mail).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	label    string
	total    int64 // 0 when unknown
	done     int64
	stored   int64
	start    time.Time
	last     time.Time
	every    time.Duration
	disabled bool
	items    bool // counting objects, not bytes
}

func newProgress(w io.Writer, label string, total int64, quiet bool) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	every := 10 * time.Second
	if tty {
		every = 250 * time.Millisecond
	}
	now := time.Now()
	return &progress{w: w, tty: tty, label: label, total: total, start: now, last: now, every: every, disabled: quiet}
}

// countItems makes the display count objects (chunks) instead of bytes.
func (p *progress) countItems() *progress {
	p.items = true
	return p
}

// add counts bytes read (raw) and written (stored).
func (p *progress) add(raw, stored int64) {
	p.mu.Lock()
	p.done += raw
	p.stored += stored
	p.maybePrint()
	p.mu.Unlock()
}

// set sets the bytes done so far.
func (p *progress) set(done, total int64) {
	p.mu.Lock()
	p.done, p.total = done, total
	p.maybePrint()
	p.mu.Unlock()
}

func (p *progress) maybePrint() {
	if p.disabled || time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	line := p.line()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) line() string {
	el := time.Since(p.start)
	rate := float64(p.done) / max(el.Seconds(), 0.001)
	amount := humanize.Bytes
	if p.items {
		amount = func(n int64) string { return fmt.Sprint(n) }
	}
	s := fmt.Sprintf("%s: %s", p.label, amount(p.done))
	if p.total > 0 {
		s += fmt.Sprintf(" of %s (%.0f%%)", amount(p.total), 100*float64(p.done)/float64(p.total))
	}
	if p.stored > 0 {
		s += fmt.Sprintf(", %s stored", humanize.Bytes(p.stored))
	}
	s += fmt.Sprintf(", %s/s, %s", amount(int64(rate)), el.Round(time.Second))
	if p.total > 0 && rate > 0 && p.done < p.total {
		eta := time.Duration(float64(p.total-p.done)/rate) * time.Second
		s += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
	}
	return s
}

// finish clears the in-place line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.disabled && p.tty && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
