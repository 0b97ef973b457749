package sipcheck

import (
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// streamPeers remembers the remote addresses of the UA's TCP and TLS
// connections (as sipgo's pools key them: network and ip:port), so that
// close can shut them down before the UA. The set is bounded by the
// targets the trunks use.
type streamPeers struct {
	mu    sync.Mutex
	peers map[streamPeer]struct{}
}

type streamPeer struct{ network, addr string }

func (s *streamPeers) add(network, addr string) {
	p := streamPeer{strings.ToLower(network), addr}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers == nil {
		s.peers = map[streamPeer]struct{}{}
	}
	s.peers[p] = struct{}{}
}

func (s *streamPeers) list() []streamPeer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]streamPeer, 0, len(s.peers))
	for p := range s.peers {
		out = append(out, p)
	}
	return out
}

// streamCloseWait bounds how long close waits for sipgo's readers to
// release the connections it shut.
const streamCloseWait = time.Second

// closeStreams shuts the UA's TCP and TLS connections down before
// ua.Close, in the order sipgo's reference counting expects. Why: in sipgo
// v1.7.3 a connection holds one reference for its reader goroutine and one
// for keeping it idle in the pool. ua.Close clears each transport's
// ConnectionPool, and ConnectionPool.Clear hard-closes every connection
// (TCPConnection.Close sets the count to 0); the reader then sees the
// closed socket and releases its own reference (CloseAndDelete →
// TryClose), which takes the count to -1 and logs WARN "TCP ref went
// negative" — once per connection still open, so at nearly every shutdown
// with TCP or TLS trunks. It is bookkeeping only, but an operator cannot
// tell it from a leak. Here each connection keeps only the reader's
// reference and its socket is closed: the reader wakes, its release takes
// the count to 0 (the close it then repeats is ignored) and removes the
// connection from the pool, so Clear finds nothing. Trunks must have
// stopped first: a running transaction holds a reference too.
func (e *engine) closeStreams() {
	tl := e.ua.TransportLayer()
	for _, p := range e.peers.list() {
		c, err := tl.GetConnection(p.network, p.addr)
		if err != nil {
			continue // closed meanwhile
		}
		tc, ok := c.(*sip.TCPConnection) // TLS connections are TCPConnections too
		if !ok {
			_, _ = c.TryClose()
			continue
		}
		tc.Ref(1 - tc.Ref(0)) // drop ours (from GetConnection) and the idle one
		_ = tc.Conn.Close()
	}
	deadline := time.Now().Add(streamCloseWait)
	for tl.Pool("tcp").Size()+tl.Pool("tls").Size() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}
