package sipcheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// fakeClock is a Clock the test advances by hand; due callbacks run in
// their own goroutines, as with time.AfterFunc.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	if d <= 0 {
		t.fired = true
		go f()
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.fired || t.stopped {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves the clock and fires every timer that became due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due, keep []*fakeTimer
	for _, t := range c.timers {
		switch {
		case t.stopped || t.fired:
		case !t.at.After(c.now):
			t.fired = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		go t.f()
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 25*time.Millisecond)
	}
}

func testLogger(tb testing.TB) *slog.Logger {
	if os.Getenv("SIPCHECK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startFake runs an in-process fake provider on loopback until the test ends.
func startFake(tb testing.TB, cfg fakeprovider.Config) *fakeprovider.Provider {
	tb.Helper()
	if cfg.Users == nil {
		cfg.Users = []fakeprovider.User{{Username: "alice", Password: "alice-secret"}}
	}
	fp, err := fakeprovider.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := fp.Listen("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fp.Serve(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return fp
}

// harness is a prober on a real registry directory.
type harness struct {
	tb    testing.TB
	reg   *registry.Registry
	prom  *prometheus.Registry
	clock *fakeClock
	pr    *Prober
	stop  func()
}

// newHarness starts a prober with cfg on an empty providers directory.
func newHarness(tb testing.TB, cfg Config) *harness {
	tb.Helper()
	return newHarnessWith(tb, cfg, testLogger(tb))
}

// newHarnessWith is newHarness with the prober logging to log.
func newHarnessWith(tb testing.TB, cfg Config, log *slog.Logger) *harness {
	tb.Helper()
	return newHarnessOpts(tb, cfg, Options{Logger: log})
}

// newHarnessOpts is newHarness with opts (the harness sets the server
// index, metrics registry and clock).
func newHarnessOpts(tb testing.TB, cfg Config, opts Options) *harness {
	tb.Helper()
	reg, err := registry.Open(registry.Options{Dir: tb.TempDir(), Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	h := &harness{tb: tb, reg: reg, prom: prometheus.NewRegistry(), clock: newFakeClock()}
	if cfg.Timeout == 0 {
		// Generous: an answer that is coming (a TLS handshake on a machine
		// with both cores busy, say) must not be taken for a lost one.
		cfg.Timeout = 2 * time.Second
	}
	opts.ServerIndex, opts.Registerer, opts.Clock = registry.AnyServer, h.prom, h.clock
	h.pr, err = New(cfg, opts)
	if err != nil {
		tb.Fatal(err)
	}
	sub := reg.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.pr.Run(ctx, sub.C()) }()
	var once sync.Once
	h.stop = func() { once.Do(func() { cancel(); <-done; sub.Close() }) }
	tb.Cleanup(h.stop)
	return h
}

// trunk returns a provider with the defaults, targeting addr over tr.
func trunkAt(code, addr, tr string) registry.Provider {
	p := registry.Default()
	p.Code = code
	p.Username, p.Login, p.Pwd = "alice", "alice", "alice-secret"
	p.Domain = "demo.trunkd.test"
	host, port, _ := strings.Cut(addr, ":")
	p.ProxyAddr = host
	p.ProxyPort, _ = strconv.Atoi(port)
	p.Transport = tr
	p.Expires = 60
	p.PingMode = "none"
	return p
}

// create writes a provider file and waits until the prober applied it.
func (h *harness) create(p registry.Provider) *registry.Provider {
	h.tb.Helper()
	got, err := h.reg.Create(p)
	if err != nil {
		h.tb.Fatal(err)
	}
	h.sync()
	return got
}

// update edits a provider file and waits until the prober applied it.
func (h *harness) update(id string, f func(p *registry.Provider)) {
	h.tb.Helper()
	if _, err := h.reg.Update(id, func(p *registry.Provider) error { f(p); return nil }); err != nil {
		h.tb.Fatal(err)
	}
	h.sync()
}

// remove deletes a provider file and waits until the prober applied it.
func (h *harness) remove(id string) {
	h.tb.Helper()
	if err := h.reg.Delete(id, nil); err != nil {
		h.tb.Fatal(err)
	}
	h.sync()
}

// sync waits until the prober has reconciled the registry's current snapshot.
func (h *harness) sync() {
	h.tb.Helper()
	gen := h.reg.Snapshot().Generation()
	waitFor(h.tb, fmt.Sprintf("the prober to apply generation %d", gen), 10*time.Second, func() bool {
		return h.pr.Summary().Generation >= gen
	})
}

// state returns the trunk's state; ok false when it is not probed.
func (h *harness) state(id string) (State, bool) { return h.pr.State(id) }

// waitState waits until the trunk's state satisfies cond.
func (h *harness) waitState(id, what string, cond func(s State) bool) State {
	h.tb.Helper()
	var last State
	waitFor(h.tb, what, 10*time.Second, func() bool {
		s, ok := h.state(id)
		last = s
		return ok && cond(s)
	})
	return last
}

// gauge reads one series; ok false when it does not exist.
func (h *harness) gauge(name string, labels ...string) (float64, bool) {
	mfs, err := h.prom.Gather()
	if err != nil {
		h.tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// lockedBuffer is a log sink for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
