package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/atomicfile"
)

// Sender delivers events to one destination.
type Sender interface {
	Name() string
	// Send delivers ev or says why not; the Notifier retries errors a few
	// times.
	Send(ctx context.Context, ev Event) error
}

// Options configure a Notifier.
type Options struct {
	// StatePath is the file the open problems are kept in ("" = memory
	// only).
	StatePath string
	Logger    hclog.Logger
	Clock     clockwork.Clock
	Host      string // shown in messages; default os.Hostname
	// Burst and RefillEvery make the rate limit per destination: Burst
	// messages at once, then one per RefillEvery. Defaults 10 and 6
	// minutes (ten an hour).
	Burst       int
	RefillEvery time.Duration
	// Retries of a failed delivery, RetryWait apart (doubling). Defaults
	// 3 and 10 seconds.
	Retries   int
	RetryWait time.Duration
	// TLSConfig for SMTP (nil: the system's roots); HTTPClient for
	// webhooks (nil: a default one). A notify block's ca_file adds to
	// the roots of either.
	TLSConfig  *tls.Config
	HTTPClient *http.Client
	// Senders replaces the senders built from the policy (tests).
	Senders func(n *config.Notify) (Sender, error)
}

// Notifier routes events to the destinations that subscribe to them,
// keeping one message per problem. Create it with New and run Run.
type Notifier struct {
	opts  Options
	log   hclog.Logger
	clock clockwork.Clock

	mu       sync.Mutex
	outboxes map[string]*outbox
	problems map[string]*problem
	closed   bool
	wg       sync.WaitGroup
	stop     chan struct{}
}

type outbox struct {
	sender     Sender
	events     map[string]bool
	ch         chan Event
	tokens     float64
	refilled   time.Time
	suppressed int
	fp         string // what the sender was built from, to see changes on reload
}

// problem is an open problem; it is what the state file holds.
type problem struct {
	Event       Event  `json:"event"`
	Fingerprint string `json:"fingerprint"`
}

// New makes a Notifier for the notify blocks of cfg and loads the open
// problems from opts.StatePath.
func New(cfg *config.Config, opts Options) (*Notifier, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.RefillEvery <= 0 {
		opts.RefillEvery = 6 * time.Minute
	}
	if opts.Retries <= 0 {
		opts.Retries = 3
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = 10 * time.Second
	}
	n := &Notifier{opts: opts, log: opts.Logger.Named("notify"), clock: opts.Clock,
		outboxes: map[string]*outbox{}, problems: map[string]*problem{}, stop: make(chan struct{})}
	if err := n.load(); err != nil {
		return nil, err
	}
	if err := n.SetConfig(cfg); err != nil {
		return nil, err
	}
	return n, nil
}

// SetConfig replaces the destinations with those of cfg (a reload). Open
// problems stay open.
func (n *Notifier) SetConfig(cfg *config.Config) error {
	built := map[string]*outbox{}
	events := map[string]map[string]bool{}
	names := make([]string, 0, len(cfg.Notifies))
	for name := range cfg.Notifies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		nb := cfg.Notifies[name]
		fp := senderFingerprint(nb)
		n.mu.Lock()
		old := n.outboxes[name]
		n.mu.Unlock()
		events[name] = eventSet(nb.Events)
		if old != nil && old.fp == fp {
			built[name] = old
			continue
		}
		var s Sender
		var err error
		switch {
		case n.opts.Senders != nil:
			s, err = n.opts.Senders(nb)
		case nb.Type == "email":
			s, err = NewEmail(nb, n.opts.TLSConfig)
		case nb.Type == "webhook":
			s, err = NewWebhook(nb, n.opts.HTTPClient)
		default:
			err = fmt.Errorf("notify %q: unknown type %q", name, nb.Type)
		}
		if err != nil {
			return err
		}
		built[name] = &outbox{sender: s, ch: make(chan Event, 256),
			tokens: float64(n.opts.Burst), refilled: n.clock.Now(), fp: fp}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, ob := range n.outboxes {
		if built[name] != ob {
			close(ob.ch) // its worker sends what is queued, then ends
		}
	}
	for name, ob := range built {
		ob.events = events[name]
		if n.outboxes[name] != ob && !n.closed {
			n.wg.Add(1)
			go n.work(ob)
		}
	}
	n.outboxes = built
	return nil
}

func eventSet(events []string) map[string]bool {
	m := map[string]bool{}
	for _, e := range events {
		m[e] = true
	}
	return m
}

// senderFingerprint tells whether a notify block changed in a way that
// needs a new sender (secrets included, hashed by fmt through Reveal; the
// CA file by what it holds, so that a renewed CA is read on reload).
func senderFingerprint(nb *config.Notify) string {
	ca := ""
	if nb.CAFile != "" {
		b, err := os.ReadFile(nb.CAFile)
		if err != nil {
			b = []byte(err.Error())
		}
		ca = hashOf(string(b))
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%q|%s|%s|%s|%s", nb.Type, nb.SMTP, nb.SMTPTLS, nb.Username, nb.From, nb.URL, nb.To,
		hashOf(nb.Password.Reveal()), hashOf(nb.Secret.Reveal()), nb.CAFile, ca)
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// Run delivers until ctx ends, then gives queued messages a few seconds
// to go out.
func (n *Notifier) Run(ctx context.Context) error {
	<-ctx.Done()
	n.mu.Lock()
	n.closed = true
	for _, ob := range n.outboxes {
		close(ob.ch)
	}
	n.outboxes = map[string]*outbox{}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(n.stop)
		<-done
	}
	return nil
}

// work delivers one destination's messages in order.
func (n *Notifier) work(ob *outbox) {
	defer n.wg.Done()
	for ev := range ob.ch {
		wait := n.opts.RetryWait
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			go func() {
				select {
				case <-n.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			err := ob.sender.Send(ctx, ev)
			cancel()
			if err == nil {
				n.log.Info("sent", "to", ob.sender.Name(), "event", ev.Type, "state", ev.State, "database", ev.Database)
				break
			}
			if attempt > n.opts.Retries {
				n.log.Error("giving up on a message", "to", ob.sender.Name(), "event", ev.Type, "database", ev.Database, "error", err)
				break
			}
			n.log.Warn("sending failed; will retry", "to", ob.sender.Name(), "event", ev.Type, "attempt", attempt, "error", err)
			select {
			case <-n.clock.After(wait):
			case <-n.stop:
			}
			wait *= 2
		}
	}
}

var (
	digits = regexp.MustCompile(`[0-9]+`)
	hexIDs = regexp.MustCompile(`[0-9a-fA-F]{8,}`)
)

// fingerprint reduces an error to what makes it the same problem: numbers
// (times, ports, sizes, ids) do not.
func fingerprint(ev Event) string {
	s := ev.Error
	if s == "" {
		s = ev.Summary
	}
	s = hexIDs.ReplaceAllString(s, "#")
	return ev.Kind + "|" + digits.ReplaceAllString(s, "#")
}

// problemKey identifies a problem: its event and database; for site-wide
// problems (no database) the job kind too, so that a failing prune and a
// failing check are two problems.
func problemKey(typ, database, kind string) string {
	if database == "" {
		return typ + "||" + kind
	}
	return typ + "|" + database
}

// Raise reports a problem (ev.Type about ev.Database). The first report
// is sent; the same problem again is not, until it changes or is cleared.
// It returns whether a message went out.
func (n *Notifier) Raise(ev Event) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock.Now()
	if ev.Time.IsZero() {
		ev.Time = now
	}
	ev.State, ev.Host = StateFiring, n.opts.Host
	key, fp := problemKey(ev.Type, ev.Database, ev.Kind), fingerprint(ev)
	if p := n.problems[key]; p != nil {
		if p.Fingerprint == fp {
			n.log.Debug("problem persists; not sent again", "event", ev.Type, "database", ev.Database)
			return false
		}
		ev.Since = p.Event.Since
	} else {
		ev.Since = ev.Time
	}
	n.problems[key] = &problem{Event: ev, Fingerprint: fp}
	n.save()
	n.route(ev)
	return true
}

// Clear ends the problem typ of database (of kind, for site-wide
// problems), if open, with a "resolved" message saying summary. It returns
// whether a problem was open.
func (n *Notifier) Clear(typ, database, kind, summary string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := problemKey(typ, database, kind)
	p := n.problems[key]
	if p == nil {
		return false
	}
	delete(n.problems, key)
	n.save()
	ev := p.Event
	ev.State, ev.Time, ev.Summary, ev.Detail, ev.Error, ev.Host = StateResolved, n.clock.Now(), summary, "", "", n.opts.Host
	if ev.Summary == "" {
		ev.Summary = "The problem has cleared."
	}
	ev.Detail = "Was: " + p.Event.Summary
	if p.Event.Error != "" {
		ev.Detail += "\n" + p.Event.Error
	}
	n.route(ev)
	return true
}

// Open reports whether problem typ of database (of kind, site-wide) is
// open.
func (n *Notifier) Open(typ, database, kind string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.problems[problemKey(typ, database, kind)] != nil
}

// Notice sends a one-off message.
func (n *Notifier) Notice(ev Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ev.Time.IsZero() {
		ev.Time = n.clock.Now()
	}
	ev.State, ev.Host = StateNotice, n.opts.Host
	n.route(ev)
}

// route queues ev for every destination subscribed to its type, within
// the rate limit. Caller holds n.mu.
func (n *Notifier) route(ev Event) {
	names := make([]string, 0, len(n.outboxes))
	for name := range n.outboxes {
		names = append(names, name)
	}
	slices.Sort(names)
	now := n.clock.Now()
	for _, name := range names {
		ob := n.outboxes[name]
		if !ob.events[ev.Type] {
			continue
		}
		ob.tokens = min(float64(n.opts.Burst), ob.tokens+now.Sub(ob.refilled).Seconds()/n.opts.RefillEvery.Seconds())
		ob.refilled = now
		if ob.tokens < 1 {
			ob.suppressed++
			n.log.Warn("rate limit: message held back", "to", name, "event", ev.Type, "database", ev.Database, "held_back", ob.suppressed)
			continue
		}
		ob.tokens--
		e := ev
		e.Suppressed, ob.suppressed = ob.suppressed, 0
		select {
		case ob.ch <- e:
		default:
			n.log.Error("outbox full: message dropped", "to", name, "event", ev.Type)
		}
	}
}

// ---- the state file ----

type stateFile struct {
	Version  int                 `json:"version"`
	Problems map[string]*problem `json:"problems"`
}

func (n *Notifier) load() error {
	if n.opts.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(n.opts.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the open problems: %w", err)
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		// A damaged file costs at most a repeated message: go on.
		n.log.Warn("the open problems file is damaged; starting afresh", "path", n.opts.StatePath, "error", err)
		return nil
	}
	if sf.Problems != nil {
		n.problems = sf.Problems
	}
	return nil
}

// save writes the open problems. Caller holds n.mu.
func (n *Notifier) save() {
	if n.opts.StatePath == "" {
		return
	}
	b, err := json.MarshalIndent(stateFile{Version: 1, Problems: n.problems}, "", "  ")
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(n.opts.StatePath), 0o700); err == nil {
			err = atomicfile.WriteFile(n.opts.StatePath, b, 0o600)
		}
	}
	if err != nil {
		n.log.Warn("saving the open problems failed", "path", n.opts.StatePath, "error", err)
	}
}
