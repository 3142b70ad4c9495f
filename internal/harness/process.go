package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readyTimeout bounds how long a server may take to accept connections.
const readyTimeout = 30 * time.Second

// stopTimeout bounds a graceful shutdown before the process is killed.
const stopTimeout = 30 * time.Second

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; that race is accepted for tests.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runAs returns the credential to run a server as the OS user name when the
// tests run as root (PostgreSQL and MariaDB refuse to run as root), and nil
// otherwise: then the server runs as the current user.
func runAs(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("looking up OS user %q to run the server as (the tests run as root, which the server refuses): %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parsing uid %q of OS user %q: %w", u.Uid, name, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parsing gid %q of OS user %q: %w", u.Gid, name, err)
	}
	// An empty Groups drops root's supplementary groups.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// serverDir creates the temporary directory a server lives in, owned by
// cred's user when set. The user must be able to reach it, so every parent
// directory must be searchable by others.
func serverDir(prefix string, cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp(os.TempDir(), prefix)
	if err != nil {
		return "", fmt.Errorf("creating the server's temporary directory: %w", err)
	}
	if cred == nil {
		return dir, nil
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(dir)
		return "", err
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fail(fmt.Errorf("checking that %s is searchable by uid %d: %w", p, cred.Uid, err))
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fail(fmt.Errorf("directory %s is not searchable by others, so uid %d cannot reach %s; set TMPDIR to a directory such as /tmp", p, cred.Uid, dir))
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fail(fmt.Errorf("handing %s to uid %d: %w", dir, cred.Uid, err))
	}
	return dir, nil
}

// command describes a program the harness runs: a one-shot setup step
// (initdb) or a server.
type command struct {
	path string
	args []string
	env  []string // added to the harness's environment
	dir  string   // working directory; the server's own, which its user can enter
	cred *syscall.Credential
	// logPath receives the program's stdout and stderr, appended.
	logPath string
}

func (c command) String() string {
	return strings.Join(append([]string{c.path}, c.args...), " ")
}

func (c command) cmd() *exec.Cmd {
	cmd := exec.Command(c.path, c.args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: c.cred,
		// Own process group: a ^C on the terminal reaches the test binary,
		// which shuts the servers down in order, not the servers directly.
		Setpgid: true,
		// If the test binary dies (panic, timeout), the server goes too
		// instead of holding its port until the machine reboots.
		Pdeathsig: syscall.SIGKILL,
	}
	return cmd
}

// run runs c to completion, logging its output, and on failure returns an
// error that carries the tail of that output.
func (c command) run(what string) error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: opening log %s: %w", what, c.logPath, err)
	}
	defer logf.Close()
	var out bytes.Buffer
	cmd := c.cmd()
	cmd.Stdout = io.MultiWriter(logf, &out)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s: %w\n%s", what, c, err, tail(out.Bytes(), 30))
	}
	return nil
}

// process is a running server.
type process struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // the result of Wait, set before done is closed
}

func (c command) start() (*process, error) {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening server log %s: %w", c.logPath, err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := c.cmd()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", c, err)
	}
	p := &process{cmd: cmd, logPath: c.logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends sig and waits for the process to end, killing it after
// stopTimeout.
func (p *process) stop(sig syscall.Signal) error {
	if ok, _ := p.exited(); ok {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling pid %d: %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("pid %d did not stop within %s after %s; killed it\n%s", p.cmd.Process.Pid, stopTimeout, sig, p.logTail())
}

func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(reading server log: %v)", err)
	}
	return "server log " + p.logPath + ", last lines:\n" + tail(b, 30)
}

// waitReady polls probe until it succeeds, the process exits, or
// readyTimeout passes. The error then carries the server log's tail.
func (p *process) waitReady(probe func(ctx context.Context) error) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for {
		if ok, err := p.exited(); ok {
			return fmt.Errorf("server exited before accepting connections (%v)\n%s", err, p.logTail())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = probe(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server did not accept connections within %s: %w\n%s", readyTimeout, last, p.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// server is the lifecycle shared by the three kinds of server: start from a
// fixed command line, wait until ready, stop, restart on the same port and
// data directory, and remove everything at the end.
type server struct {
	name    string // "PostgreSQL", for messages
	dir     string
	command command
	stopSig syscall.Signal
	probe   func(ctx context.Context) error

	mu     sync.Mutex
	proc   *process
	closed bool
}

func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("starting %s in %s: the server was already removed", s.name, s.dir)
	}
	if s.proc != nil {
		if ok, _ := s.proc.exited(); !ok {
			return nil
		}
	}
	p, err := s.command.start()
	if err != nil {
		return fmt.Errorf("starting %s: %w", s.name, err)
	}
	if err := p.waitReady(s.probe); err != nil {
		p.stop(syscall.SIGKILL)
		return fmt.Errorf("starting %s (%s): %w", s.name, s.command, err)
	}
	s.proc = p
	return nil
}

func (s *server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *server) stopLocked() error {
	if s.proc == nil {
		return nil
	}
	p := s.proc
	s.proc = nil
	if err := p.stop(s.stopSig); err != nil {
		return fmt.Errorf("stopping %s: %w", s.name, err)
	}
	return nil
}

// close stops the server for good and removes its directory.
func (s *server) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stopLocked()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("removing %s directory: %w", s.name, rmErr))
	}
	return err
}

// lookPath finds the first of names on PATH or in dirs.
func lookPath(names []string, dirs []string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	for _, d := range dirs {
		for _, n := range names {
			p := filepath.Join(d, n)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("none of %s found on PATH or in %s", strings.Join(names, ", "), strings.Join(dirs, ", "))
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// clip shortens SQL quoted in an error: a failed bulk load should not bury
// the message under megabytes of INSERTs.
func clip(sql string) string {
	const limit = 2000
	if len(sql) <= limit {
		return sql
	}
	return sql[:limit] + fmt.Sprintf("... (%d more bytes)", len(sql)-limit)
}
