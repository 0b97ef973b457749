package sipconn

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

var sinkLevel = slog.LevelDebug

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

// userAgent is a sipgo user agent whose stream peers are noted.
type userAgent struct {
	ua    *sipgo.UserAgent
	peers Peers
}

func newUserAgent(t *testing.T, name string) *userAgent {
	t.Helper()
	u := &userAgent{}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentTransportLayerOptions(
		sip.WithTransportLayerReadFilter(func(props sip.TransportReadProps, data []byte) ([]byte, error) {
			u.peers.Note(props)
			return data, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	u.ua = ua
	return u
}

// close closes the user agent, through Peers.Close when ordered.
func (u *userAgent) close(ordered bool) {
	if ordered {
		u.peers.Close(u.ua.TransportLayer(), time.Second)
	}
	u.ua.Close()
}

// tcpReaders counts the goroutines in sipgo's TCP/TLS connection reader.
func tcpReaders() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*TransportTCP).readConnection(")
}

// exchange runs one OPTIONS over TCP between a server and a client user
// agent, closes them (serverFirst: the server side first), waits for
// sipgo's readers and returns what sipgo logged at warn level.
func exchange(t *testing.T, ordered, serverFirst bool) string {
	var sink lockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: sinkLevel})))
	defer slog.SetDefault(prev)

	server := newUserAgent(t, "server")
	srv, err := sipgo.NewServer(server.ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTCP(ln) }()
	client := newUserAgent(t, "client")
	c, err := sipgo.NewClient(client.ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: addr.Port})
	req.SetTransport("TCP")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("OPTIONS over TCP: %v %v", res, err)
	}
	ln.Close()
	// The server's transaction ends a moment after the client has its
	// answer; a peer closing meanwhile is another sipgo race, not this one.
	for _, c := range server.peers.settled(server.ua.TransportLayer(), time.Now().Add(5*time.Second)) {
		_, _ = c.TryClose()
	}
	first, second := client, server
	if serverFirst {
		first, second = server, client
	}
	first.close(ordered)
	// The second side's reader sees the first side's close and releases
	// the connection itself; closing the second side while that reader is
	// halfway through races sipgo's reference count (its Ref is a read and
	// an add, not one step) and can log a WARN whatever order we use — a
	// sipgo race this package cannot order away, so the exchange waits
	// for that release (the deadline only bounds a reader that never ends).
	waitPoolEmpty(second.ua.TransportLayer(), time.Now().Add(10*time.Second))
	second.close(ordered)
	deadline := time.Now().Add(10 * time.Second)
	for tcpReaders() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return sink.String()
}

func TestOrderedCloseLogsNothing(t *testing.T) {
	for _, serverFirst := range []bool{true, false} {
		if log := exchange(t, true, serverFirst); strings.Contains(log, "level=WARN") {
			t.Errorf("server first %v: sipgo warned:\n%s", serverFirst, log)
		}
	}
}

// TestSipgoStillWarnsWithoutIt documents the sipgo behaviour this package
// works around; when an upgrade fixes it, this test fails: drop the
// package then.
func TestSipgoStillWarnsWithoutIt(t *testing.T) {
	for _, serverFirst := range []bool{true, false} {
		if log := exchange(t, false, serverFirst); !strings.Contains(log, "TCP ref went negative") {
			t.Fatalf("server first %v: closing the user agents directly no longer warns (sipgo fixed?); log:\n%s", serverFirst, log)
		}
	}
}
