package sipcheck

import (
	"bytes"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

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

// TestShutdownWithTCPTrunksKeepsSipgoRefsBalanced: stopping a prober with
// open TCP connections must not make sipgo warn "TCP ref went negative"
// (it logs connection references through slog.Default) nor anything else.
func TestShutdownWithTCPTrunksKeepsSipgoRefsBalanced(t *testing.T) {
	var sink lockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	fp := startFake(t, fakeprovider.Config{})
	h := newHarness(t, Config{Timeout: 3 * time.Second, MaxNewPerSecond: 1000})
	var ids []string
	for i := range 3 {
		tr := pingTrunkAt(fmt.Sprintf("tcp%d", i), fp.Addr(), "tcp", "options")
		tr.Reg = 1
		ids = append(ids, h.create(tr).ID)
	}
	h.clock.Advance(time.Second)
	for _, id := range ids {
		h.waitState(id, "registered and pinged", func(s State) bool {
			return s.Registration.State == RegRegistered && s.Ping.State == Up
		})
	}
	h.stop()
	// sipgo's readers log their release after ua.Close returned: wait
	// until no TCP reader goroutine is left (the fake provider's end when
	// the prober's sockets close), then read the log.
	deadline := time.Now().Add(10 * time.Second)
	for tcpReaders() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if log := sink.String(); log != "" {
		t.Fatalf("sipgo warned at shutdown:\n%s", log)
	}
}

// tcpReaders counts the goroutines in sipgo's TCP/TLS connection reader.
func tcpReaders() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*TransportTCP).readConnection(")
}
