package sipcheck

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// TestShutdownWithTCPTrunksKeepsSipgoRefsBalanced: stopping a prober with
// open TCP connections must not make sipgo warn "TCP ref went negative"
// (it logs connection references through slog.Default) nor anything else
// about them ("connection pool not clean cleanup").
func TestShutdownWithTCPTrunksKeepsSipgoRefsBalanced(t *testing.T) {
	var sink lockedBuffer
	prev := slog.Default()
	warnings := slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(warnings)
	t.Cleanup(func() { slog.SetDefault(prev) })

	fp := startFake(t, fakeprovider.Config{})
	h := newHarnessWith(t, Config{Timeout: 3 * time.Second, MaxNewPerSecond: 1000}, warnings)
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
	// Only lines about this prober's connections (to this fake provider):
	// readers of earlier tests may log late into the same default logger.
	var ours []string
	for _, l := range strings.Split(sink.String(), "\n") {
		if strings.Contains(l, "dst="+fp.Addr()) || strings.Contains(l, "->"+fp.Addr()) {
			ours = append(ours, l)
		}
	}
	if len(ours) > 0 {
		t.Fatalf("sipgo warned at shutdown:\n%s", strings.Join(ours, "\n"))
	}
}

// tcpReaders counts the goroutines in sipgo's TCP/TLS connection reader.
func tcpReaders() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*TransportTCP).readConnection(")
}
